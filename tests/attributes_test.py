"""Attribute directions and grids (FlexAE paper, Fig. 5c)."""

import os

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.evaluation import attributes
from flexae_tf.models import vae
from tests import helpers


def test_directions_recover_planted_directions():
    rng = np.random.default_rng(0)
    n, d = 20000, 6
    planted = rng.normal(size=(2, d))
    labels = rng.uniform(size=(n, 2)) < [0.3, 0.6]
    codes = rng.normal(size=(n, d)) + labels.astype(float) @ planted
    found = attributes.attribute_directions(codes, labels)
    np.testing.assert_allclose(found, planted, atol=0.06)
    cosine = np.sum(found * planted, 1) / (
        np.linalg.norm(found, axis=1) * np.linalg.norm(planted, axis=1))
    assert np.all(cosine > 0.998)


def test_class_labels_are_one_vs_rest_hand_computed():
    codes = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 4.0], [0.0, 2.0]])
    found = attributes.attribute_directions(codes, np.array([0, 0, 1, 1]))
    # Class 0: mean (2, 0) minus mean (0, 3); class 1 is the opposite.
    np.testing.assert_allclose(found, [[2.0, -3.0], [-2.0, 3.0]])
    with pytest.raises(errors.UserError, match="all or none"):
        attributes.attribute_directions(codes, np.ones((4, 1), bool))


class _IdentityModel:
    """encode / decode are flatten / unflatten: the walk is visible."""

    def encode(self, images):
        return tf.reshape(images, (tf.shape(images)[0], -1))

    def decode(self, codes):
        return tf.reshape(codes, (-1, 2, 2, 1))


def test_grid_walks_the_code_along_the_direction():
    images = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1)
    direction = np.array([1.0, 0.0, 0.0, -1.0])
    grid = attributes.attribute_grid(_IdentityModel(), images, direction,
                                     strengths=(-1, 0, 2))
    assert grid.shape == (2, 3, 2, 2, 1)
    np.testing.assert_allclose(grid[:, 1], images)
    np.testing.assert_allclose(grid[1, 2].ravel(),
                               images[1].ravel() + 2 * direction)


@helpers.needs_mnist
def test_grids_for_mnist_classes_offline(tmp_path):
    gin.clear_config()
    gin.parse_config("Encoder.filters = (4, 8)\nEncoder.dense_units = 16\n"
                     "Decoder.filters = (8, 4)\nDecoder.dense_units = 16")
    tf.keras.utils.set_random_seed(0)
    model = vae.VAE((28, 28, 1), latent_dim=3)
    labels, names = attributes.load_labels("mnist", "test", 300)
    assert labels.shape == (300,) and names[7] == "7"
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the t10k file's start
    written = attributes.write_attribute_grids(
        model, "mnist", str(tmp_path), num_images=300, num_rows=2,
        attributes=("3", "7"))
    assert sorted(written) == ["3", "7"]
    for path in written.values():
        assert os.path.getsize(path) > 100
    gin.clear_config()
