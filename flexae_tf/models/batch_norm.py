"""Batch-norm moving statistics: which training passes may update them."""

import contextlib

from keras import layers


@contextlib.contextmanager
def frozen_moving_statistics(*models):
    """Training-mode passes inside leave BN moving statistics unchanged.

    They still normalise with batch statistics (training=True); only the
    moving mean and variance, which every inference-mode pass uses, keep
    their values. Keras' BatchNormalization updates them as
    moving * momentum + batch * (1 - momentum) and reads `momentum` when
    called, so momentum 1 while the pass is traced makes that update the
    identity, at no cost.

    Args:
      *models: networks whose BatchNormalization layers are frozen.
    """
    layers_ = [layer for model in models for layer in model._flatten_layers()
               if isinstance(layer, layers.BatchNormalization)]
    saved = [layer.momentum for layer in layers_]
    for layer in layers_:
        layer.momentum = 1.0
    try:
        yield
    finally:
        for layer, momentum in zip(layers_, saved):
            layer.momentum = momentum
