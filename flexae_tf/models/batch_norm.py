"""Batch normalisation: a fused training pass, and which passes may update
the moving statistics."""

import contextlib

import keras
import tensorflow as tf
from keras import layers

from flexae_tf.core import precision

# Why a subclass: Keras 3's BatchNormalization normalises in training mode
# with separate ops (cast to float32, mean, squared difference, mean,
# normalise, cast back), each a pass over the activation. One
# FusedBatchNormV3 kernel does the same in one, and oneDNN fuses it with
# the ReLU that follows. A FlexAE-SR iteration runs 14 encoder passes (2 BN
# layers each) and 7 decoder passes (4 each); docs/speed.md has the A/B.


def _native_low_precision():
    """Whether FusedBatchNormV3 takes bfloat16 inputs here.

    On CPU, TensorFlow has a bfloat16 kernel only through oneDNN; without
    it the op fails at run time, so the fused pass then normalises in
    float32. GPU and XLA kernels take bfloat16 either way.
    """
    return (precision.onednn_enabled()
            or bool(tf.config.list_logical_devices("GPU")))


@keras.saving.register_keras_serializable("flexae_tf")
class BatchNormalization(layers.BatchNormalization):
    """Keras' BatchNormalization with a fused training-mode pass.

    Same variables, names, configuration and inference pass as Keras'
    layer, and the same training-mode outputs, gradients and moving
    statistics to float tolerance (`tests/batch_norm_test.py`): the moving
    variance is updated with the biased batch variance, as Keras does
    (TensorFlow's fused kernel returns the unbiased one). Cases the kernel
    does not cover (masks, renorm, synchronised statistics, other ranks or
    axes) take Keras' own path.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (not (training and self.trainable) or mask is not None
                or self.renorm or self.synchronized or rank not in (2, 4)
                or self.axis not in (-1, rank - 1)):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        x = inputs
        if x.dtype != tf.float32 and not (
                x.dtype == tf.bfloat16 and _native_low_precision()):
            x = tf.cast(x, tf.float32)
        if rank == 2:  # [b, c] -> [b, 1, 1, c]: the kernel wants NHWC.
            x = tf.reshape(x, [-1, 1, 1, channels])
        # gamma and beta are float32 under every policy (autocast off).
        scale = self.gamma if self.scale else tf.ones([channels])
        offset = self.beta if self.center else tf.zeros([channels])
        empty = tf.zeros([0], tf.float32)
        outputs, mean, unbiased_variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=tf.convert_to_tensor(scale),
            offset=tf.convert_to_tensor(offset), mean=empty, variance=empty,
            epsilon=self.epsilon, exponential_avg_factor=1.0,
            data_format="NHWC", is_training=True)
        count = tf.cast(tf.size(x) // channels, tf.float32)
        variance = unbiased_variance * tf.maximum(count - 1.0, 0.0) / count
        # Keras' update; momentum 1 (frozen_moving_statistics) keeps them.
        self.moving_mean.assign(self.moving_mean * self.momentum
                                + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + variance * (1.0 - self.momentum))
        if rank == 2:
            outputs = tf.reshape(outputs, tf.shape(inputs))
        return tf.cast(outputs, self.compute_dtype)


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
