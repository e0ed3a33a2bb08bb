"""Spherical interpolation, as an option of `interpolate` and of the grids."""

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.models import interpolation
from flexae_tf.models import vae


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    gin.parse_config("Encoder.filters = (4, 8)\nEncoder.dense_units = 16\n"
                     "Decoder.filters = (8, 4)\nDecoder.dense_units = 16")
    yield
    gin.clear_config()


def test_slerp_hand_computed_quarter_circle():
    a = tf.constant([[2.0, 0.0]])
    b = tf.constant([[0.0, 2.0]])
    path = interpolation.slerp(a, b, tf.constant([0.0, 1 / 3, 0.5, 1.0]))
    s = np.sqrt(2.0)
    np.testing.assert_allclose(path.numpy()[0], [
        [2, 0], [2 * np.cos(np.pi / 6), 2 * np.sin(np.pi / 6)], [s, s],
        [0, 2]], atol=1e-6)
    # Equal norms: every point stays on the circle (linear would not).
    np.testing.assert_allclose(np.linalg.norm(path.numpy()[0], axis=1), 2.0,
                               rtol=1e-6)


def test_slerp_of_parallel_codes_is_the_segment():
    a = tf.constant([[1.0, 1.0]])
    path = interpolation.slerp(a, 3.0 * a, tf.constant([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(path.numpy()[0], [[1, 1], [2, 2], [3, 3]],
                               rtol=1e-6)


def test_interpolate_method_and_gin_default():
    tf.keras.utils.set_random_seed(0)
    model = vae.VAE((28, 28, 1), latent_dim=3)
    a = tf.random.stateless_uniform((2, 28, 28, 1), seed=[0, 1])
    b = tf.random.stateless_uniform((2, 28, 28, 1), seed=[0, 2])
    linear = model.interpolate(a, b, 5, method="linear").numpy()
    spherical = model.interpolate(a, b, 5, method="slerp").numpy()
    assert spherical.shape == (2, 5, 28, 28, 1)
    for path in (linear, spherical):  # both end at D(E(a)) and D(E(b))
        np.testing.assert_allclose(path[:, 0], model.reconstruct(a),
                                   atol=1e-5)
        np.testing.assert_allclose(path[:, -1], model.reconstruct(b),
                                   atol=1e-5)
    # The middle column decodes the middle of each path.
    codes_a, codes_b = model.encode(a), model.encode(b)
    weights = tf.linspace(0.0, 1.0, 5)
    middle = interpolation.slerp(codes_a, codes_b, weights)[:, 2]
    assert np.abs(middle - 0.5 * (codes_a + codes_b)).max() > 1e-3
    np.testing.assert_allclose(spherical[:, 2], model.decode(middle),
                               atol=1e-6)
    np.testing.assert_allclose(
        linear[:, 2], model.decode(0.5 * (codes_a + codes_b)), atol=1e-6)
    np.testing.assert_allclose(model.interpolate(a, b, 5), linear)
    # The grids' writers read gin; the model's own method never does.
    gin.bind_parameter("interpolation_method.method", "slerp")
    assert interpolation.interpolation_method() == "slerp"
    np.testing.assert_allclose(model.interpolate(a, b, 5), linear)
    np.testing.assert_allclose(model.interpolate(
        a, b, 5, method=interpolation.interpolation_method()), spherical,
        atol=1e-6)
    with pytest.raises(errors.UserError, match="slerp"):
        model.interpolate(a, b, 5, method="cubic")
