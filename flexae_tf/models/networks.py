"""The five networks of FlexAE-SR (Mondal et al., UAI 2021), as Keras classes.

Defaults follow the authors' published code, with H the image side:

  encoder E          x [b, H, W, C] -> z [b, latent_dim]
  decoder D          z [b, latent_dim] -> x [b, H, W, C] in [0, 1]
  prior generator G  n [b, noise_dim] -> z_hat [b, latent_dim]     (P-GEN)
  latent critic C_k  z [b, latent_dim] -> score [b, 1]
  image critic C_z   x [b, H, W, C] -> score [b, 1]               (FlexAE-SR)

The critics have no normalisation layers: WGAN-GP differentiates their
gradient norm, and second-order gradients through batch norm are both
ill-defined for a per-example penalty and slow (PITFALLS.md (b)).
"""

import gin
import keras
from keras import layers

from flexae_tf.core import configurables
from flexae_tf.core import errors
from flexae_tf.models import batch_norm

# The authors' code initialises the decoder's dense and transposed-conv
# kernels, the P-GEN and the latent critic with glorot_normal; every other
# layer keeps the (TF1 and Keras) default glorot_uniform.
AUTHORS_INITIALIZER = "glorot_normal"


def _check_side(image_shape):
    height, width, _ = image_shape
    if height % 4 or width % 4:
        raise errors.UserError(
            f"image_shape={tuple(image_shape)}: height and width must be "
            "multiples of 4 (two stride-2 stages in encoder and decoder)."
        )


class _EncoderConfigOfEarlierVersions:
    """`.keras` files of earlier versions give encoders `latent_mask`
    (MaskAAE's mask, since retired from the encoder), off unless set by
    hand."""

    @classmethod
    def from_config(cls, config):
        if config.pop("latent_mask", False):
            raise ValueError(f"{cls.__name__}: latent_mask=True is no "
                             "longer supported")
        return cls(**config)


@configurables.keras_configurable(denylist=["latent_dim", "name"])
@keras.saving.register_keras_serializable("flexae_tf")
class Encoder(_EncoderConfigOfEarlierVersions, keras.Model):
    """Deterministic encoder E: images [b, H, W, C] -> codes [b, latent_dim].

    conv 64 4x4 s2, ReLU -> conv 128 4x4 s2, BN, ReLU -> dense 1024, BN,
    ReLU -> dense latent_dim.
    """

    def __init__(self, latent_dim, filters=(64, 128), dense_units=1024,
                 name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.latent_dim = latent_dim
        self.filters = tuple(filters)
        self.dense_units = dense_units
        self.conv_1 = layers.Conv2D(filters[0], 4, 2, padding="same")
        self.conv_2 = layers.Conv2D(filters[1], 4, 2, padding="same")
        self.bn_2 = batch_norm.BatchNormalization()
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(dense_units)
        self.bn_dense = batch_norm.BatchNormalization()
        # float32 outputs under mixed precision: losses, GP and critic
        # scores stay float32 (flexae_tf/core/precision.py).
        self.code = layers.Dense(latent_dim, dtype="float32")

    def call(self, images, training=False):
        h = keras.ops.relu(self.conv_1(images))
        h = keras.ops.relu(self.bn_2(self.conv_2(h), training=training))
        h = keras.ops.relu(
            self.bn_dense(self.dense(self.flatten(h)), training=training))
        return self.code(h)

    def get_config(self):
        return {"latent_dim": self.latent_dim, "filters": self.filters,
                "dense_units": self.dense_units, "name": self.name}


@configurables.keras_configurable(denylist=["image_shape", "name"])
@keras.saving.register_keras_serializable("flexae_tf")
class Decoder(keras.Model):
    """Decoder D: codes [b, latent_dim] -> images [b, H, W, C] in [0, 1].

    dense 1024, BN, ReLU -> dense 128 (H/4)(W/4), BN, ReLU -> convT 128 4x4
    s2, BN, ReLU -> convT 64 4x4 s2, BN, ReLU -> conv C 3x3, sigmoid.
    """

    def __init__(self, image_shape, filters=(128, 64), dense_units=1024,
                 name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_side(image_shape)
        self.image_shape = tuple(image_shape)
        self.filters = tuple(filters)
        self.dense_units = dense_units
        height, width, channels = self.image_shape
        self.base_shape = (height // 4, width // 4, filters[0])
        init = dict(kernel_initializer=AUTHORS_INITIALIZER)
        self.dense = layers.Dense(dense_units, **init)
        self.bn_dense = batch_norm.BatchNormalization()
        self.dense_base = layers.Dense(
            self.base_shape[0] * self.base_shape[1] * self.base_shape[2],
            **init)
        self.bn_base = batch_norm.BatchNormalization()
        self.reshape = layers.Reshape(self.base_shape)
        self.deconv_1 = layers.Conv2DTranspose(filters[0], 4, 2, "same",
                                               **init)
        self.bn_1 = batch_norm.BatchNormalization()
        self.deconv_2 = layers.Conv2DTranspose(filters[1], 4, 2, "same",
                                               **init)
        self.bn_2 = batch_norm.BatchNormalization()
        self.to_pixels = layers.Conv2D(channels, 3, padding="same",
                                       dtype="float32")  # precision.py

    def call(self, codes, training=False):
        h = keras.ops.relu(self.bn_dense(self.dense(codes), training=training))
        h = keras.ops.relu(self.bn_base(self.dense_base(h), training=training))
        h = self.reshape(h)
        h = keras.ops.relu(self.bn_1(self.deconv_1(h), training=training))
        h = keras.ops.relu(self.bn_2(self.deconv_2(h), training=training))
        return keras.ops.sigmoid(self.to_pixels(h))

    def get_config(self):
        return {"image_shape": self.image_shape, "filters": self.filters,
                "dense_units": self.dense_units, "name": self.name}


@keras.saving.register_keras_serializable("flexae_tf")
class MLP(keras.Model):
    """num_layers x (dense hidden_units, ReLU) -> dense output_dim."""

    def __init__(self, output_dim, hidden_units=1024, num_layers=4,
                 kernel_initializer="glorot_uniform", name="mlp", **kwargs):
        super().__init__(name=name, **kwargs)
        self.output_dim = output_dim
        self.hidden_units = hidden_units
        self.num_layers = num_layers
        self.kernel_initializer = kernel_initializer
        self.hidden = [layers.Dense(hidden_units, activation="relu",
                                    kernel_initializer=kernel_initializer)
                       for _ in range(num_layers)]
        # tf.train.Checkpoint does not see layers held in a list (Keras 3
        # tracks those for SavedModel only): one attribute per layer.
        for i, layer in enumerate(self.hidden):
            setattr(self, f"hidden_{i}", layer)
        self.out = layers.Dense(output_dim, dtype="float32",  # precision.py
                                kernel_initializer=kernel_initializer)

    def call(self, inputs, training=False):
        del training  # No dropout or normalisation.
        h = inputs
        for layer in self.hidden:
            h = layer(h)
        return self.out(h)

    def get_config(self):
        return {"output_dim": self.output_dim,
                "hidden_units": self.hidden_units,
                "num_layers": self.num_layers,
                "kernel_initializer": self.kernel_initializer,
                "name": self.name}


@configurables.keras_configurable(denylist=["latent_dim", "name"])
@keras.saving.register_keras_serializable("flexae_tf")
class VectorEncoder(_EncoderConfigOfEarlierVersions, MLP):
    """MLP encoder for vector data [b, D] -> codes [b, latent_dim].

    For the synthetic experiments (data = f(z) in R^128), where the conv
    encoder does not apply.
    """

    def __init__(self, latent_dim, hidden_units=256, num_layers=3,
                 name="encoder", **kwargs):
        super().__init__(latent_dim, hidden_units, num_layers, name=name,
                         **kwargs)
        self.latent_dim = latent_dim

    def get_config(self):
        config = super().get_config()
        config["latent_dim"] = config.pop("output_dim")
        return config


@configurables.keras_configurable(denylist=["image_shape", "name"])
@keras.saving.register_keras_serializable("flexae_tf")
class VectorDecoder(MLP):
    """MLP decoder codes [b, latent_dim] -> vectors [b, D], linear output."""

    def __init__(self, image_shape, hidden_units=256, num_layers=3,
                 name="decoder", **kwargs):
        (dimension,) = image_shape
        super().__init__(dimension, hidden_units, num_layers, name=name,
                         **kwargs)
        self.image_shape = tuple(image_shape)

    def get_config(self):
        config = super().get_config()
        config["image_shape"] = (config.pop("output_dim"),)
        return config


@gin.configurable(denylist=["latent_dim"])
def build_encoder(latent_dim, network=Encoder):
    """The encoder every model uses; gin `build_encoder.network` swaps it."""
    return network(latent_dim)


@gin.configurable(denylist=["image_shape"])
def build_decoder(image_shape, network=Decoder):
    """The decoder every model uses; gin `build_decoder.network` swaps it."""
    return network(image_shape)


@configurables.keras_configurable(denylist=["latent_dim", "name"])
@keras.saving.register_keras_serializable("flexae_tf")
class PriorGenerator(MLP):
    """P-GEN G: noise n ~ N(0, I) [b, noise_dim] -> z_hat [b, latent_dim]."""

    def __init__(self, latent_dim, hidden_units=1024, num_layers=4,
                 name="prior_generator", **kwargs):
        kwargs.setdefault("kernel_initializer", AUTHORS_INITIALIZER)
        super().__init__(latent_dim, hidden_units, num_layers, name=name,
                         **kwargs)

    def get_config(self):
        config = super().get_config()
        config["latent_dim"] = config.pop("output_dim")
        return config


@configurables.keras_configurable(denylist=["name"])
@keras.saving.register_keras_serializable("flexae_tf")
class LatentCritic(MLP):
    """Latent critic C_k: codes [b, latent_dim] -> scores [b, 1]."""

    def __init__(self, hidden_units=1024, num_layers=4, name="latent_critic",
                 **kwargs):
        kwargs.pop("output_dim", None)
        kwargs.setdefault("kernel_initializer", AUTHORS_INITIALIZER)
        super().__init__(1, hidden_units, num_layers, name=name, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["output_dim"]
        return config


@configurables.keras_configurable(denylist=["name"])
@keras.saving.register_keras_serializable("flexae_tf")
class ImageCritic(keras.Model):
    """Image (smoothing) critic C_z: images [b, H, W, C] -> scores [b, 1].

    conv 64 4x4 s2, ReLU -> conv 128 4x4 s2, ReLU -> dense 1024, ReLU ->
    dense 1.
    """

    def __init__(self, filters=(64, 128), dense_units=1024,
                 name="image_critic", **kwargs):
        super().__init__(name=name, **kwargs)
        self.filters = tuple(filters)
        self.dense_units = dense_units
        self.conv_1 = layers.Conv2D(filters[0], 4, 2, "same",
                                    activation="relu")
        self.conv_2 = layers.Conv2D(filters[1], 4, 2, "same",
                                    activation="relu")
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(dense_units, activation="relu")
        self.out = layers.Dense(1, dtype="float32")  # precision.py

    def call(self, images, training=False):
        del training  # No dropout or normalisation.
        h = self.conv_2(self.conv_1(images))
        return self.out(self.dense(self.flatten(h)))

    def get_config(self):
        return {"filters": self.filters, "dense_units": self.dense_units,
                "name": self.name}

