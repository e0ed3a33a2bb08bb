"""Shapes, ranges and serialisation of the five networks."""

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.models import batch_norm
from flexae_tf.models import networks


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.mark.parametrize("shape,latent_dim", [((28, 28, 1), 32),
                                              ((32, 32, 3), 128),
                                              ((64, 64, 3), 128)])
def test_shapes_and_ranges(shape, latent_dim):
    images = tf.random.uniform((3,) + shape)
    encoder = networks.Encoder(latent_dim, dense_units=64)
    decoder = networks.Decoder(shape, dense_units=64)
    codes = encoder(images)
    assert codes.shape == (3, latent_dim)
    decoded = decoder(codes).numpy()
    assert decoded.shape == (3,) + shape
    assert decoded.min() >= 0.0 and decoded.max() <= 1.0
    prior = networks.PriorGenerator(latent_dim, hidden_units=32)
    assert prior(tf.random.normal((3, 7))).shape == (3, latent_dim)
    assert networks.LatentCritic(hidden_units=32)(codes).shape == (3, 1)
    critic = networks.ImageCritic(dense_units=32)
    assert critic(images).shape == (3, 1)


def test_default_widths_follow_the_authors_code():
    encoder = networks.Encoder(32)
    encoder(tf.zeros((1, 28, 28, 1)))
    kernels = [w.shape for w in encoder.trainable_weights if len(w.shape) > 1]
    assert kernels == [(4, 4, 1, 64), (4, 4, 64, 128), (7 * 7 * 128, 1024),
                       (1024, 32)]
    prior = networks.PriorGenerator(32)
    prior(tf.zeros((1, 32)))
    assert [w.shape for w in prior.trainable_weights if len(w.shape) > 1] == [
        (32, 1024), (1024, 1024), (1024, 1024), (1024, 1024), (1024, 32)]


def test_get_config_round_trip_does_not_need_gin():
    gin.parse_config("Encoder.dense_units = 48")
    encoder = networks.Encoder(16)
    gin.clear_config()
    clone = networks.Encoder.from_config(encoder.get_config())
    assert clone.dense_units == 48 and clone.latent_dim == 16
    for cls, args in ((networks.Decoder, ((28, 28, 1),)),
                      (networks.PriorGenerator, (8,)),
                      (networks.LatentCritic, ()),
                      (networks.ImageCritic, ())):
        net = cls(*args)
        assert cls.from_config(net.get_config()).get_config() == \
            net.get_config()


def test_gin_binds_network_widths():
    gin.parse_config("LatentCritic.hidden_units = 17")
    critic = networks.LatentCritic()
    critic(tf.zeros((1, 4)))
    assert critic.trainable_weights[0].shape == (4, 17)


def test_odd_image_side_is_a_clear_error():
    with pytest.raises(errors.UserError, match="multiples of 4"):
        networks.Decoder((30, 30, 1))


def test_critics_have_no_normalisation():
    for critic in (networks.LatentCritic(), networks.ImageCritic()):
        critic(tf.zeros((1, 28, 28, 1)) if isinstance(
            critic, networks.ImageCritic) else tf.zeros((1, 8)))
        assert not critic.non_trainable_weights
        assert np.all([w.trainable for w in critic.weights])


def _initializers(model):
    return {layer.name: type(layer.kernel_initializer).__name__
            for layer in model._flatten_layers(include_self=False)
            if hasattr(layer, "kernel_initializer")}


def test_glorot_normal_exactly_where_the_authors_set_it():
    """Decoder dense + transposed convs, P-GEN and latent critic: normal;
    the decoder's output conv, encoder and image critic: TF's uniform."""
    decoder = networks.Decoder((28, 28, 1))
    decoder(tf.zeros((1, 4)))
    inits = _initializers(decoder)
    assert inits.pop(decoder.to_pixels.name) == "GlorotUniform"
    assert set(inits.values()) == {"GlorotNormal"} and len(inits) == 4
    for mlp in (networks.PriorGenerator(4), networks.LatentCritic()):
        mlp(tf.zeros((1, 4)))
        assert set(_initializers(mlp).values()) == {"GlorotNormal"}
    encoder, critic = networks.Encoder(4), networks.ImageCritic()
    critic(tf.zeros((1, 28, 28, 1)))
    encoder(tf.zeros((1, 28, 28, 1)))
    for model in (encoder, critic):
        assert set(_initializers(model).values()) == {"GlorotUniform"}


def test_frozen_moving_statistics_keep_them_but_normalise_by_batch():
    decoder = networks.Decoder((8, 8, 1), filters=(4, 2), dense_units=8)
    codes = tf.random.stateless_normal((16, 3), seed=[1, 2]) * 5.0 + 2.0
    decoder(codes)
    moving = lambda: [v.numpy().copy() for v in decoder.non_trainable_variables]
    before = moving()
    with batch_norm.frozen_moving_statistics(decoder):
        frozen_out = decoder(codes, training=True)
    assert all(np.array_equal(a, b) for a, b in zip(before, moving()))
    # Same batch-statistics output as an updating pass...
    np.testing.assert_allclose(frozen_out, decoder(codes, training=True),
                               atol=1e-6)
    # ...which moves the statistics, and momentum is restored.
    assert not all(np.array_equal(a, b) for a, b in zip(before, moving()))
    assert all(layer.momentum == 0.99
               for layer in decoder._flatten_layers()
               if isinstance(layer, networks.layers.BatchNormalization))
