"""Small helpers the baseline models share (no training-loop imports)."""

import keras
from keras import ops

from flexae_tf.models import optimizers


def build_networks(model):
    """Creates the encoder's and decoder's weights with one dummy call."""
    codes = model.encoder(ops.zeros((1,) + model.image_shape))
    model.decoder(codes[:, :model.latent_dim])


def optimizer(kind, name, variables, learning_rate, **kwargs):
    """A Keras optimizer built eagerly on `variables`.

    Building before the first (possibly distributed) step avoids the
    Keras 3 failure of optimizers built while a train_step is traced
    (PITFALLS.md (a)); one optimizer per (loss, variable set).

    Args:
      kind: "adam" or "rmsprop".
      name: optimizer name (shows in checkpoints).
      variables: what it updates.
      learning_rate: step size.
      **kwargs: other arguments of the Keras optimizer (beta_1, ...).
    """
    cls = {"adam": optimizers.FusedAdam,
           "rmsprop": keras.optimizers.RMSprop}[kind]
    result = cls(learning_rate=learning_rate, name=name, **kwargs)
    result.build(variables)
    return result


def autoencoder_variables(model):
    return (model.encoder.trainable_variables
            + model.decoder.trainable_variables)
