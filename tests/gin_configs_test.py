"""Every experiment sheet in gin/ parses and builds its model."""

import glob
import os

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import cli
from flexae_tf.data import datasets as data
from flexae_tf.models import factory
from flexae_tf.core import paths
from tests import helpers

GIN_FILES = sorted(glob.glob(os.path.join(paths.REPO_ROOT, "gin", "*.gin")))


def _is_model_sheet(path):
    """Model sheets (wae_gan.gin, vae.gin, ...) go after a dataset sheet."""
    with open(path) as f:
        text = f.read()
    return "include" not in text and "train.dataset" not in text and (
        not path.endswith("base.gin"))


@pytest.mark.parametrize("path", GIN_FILES, ids=os.path.basename)
def test_gin_file_parses_and_builds(path):
    gin.clear_config()
    files = [helpers.TINY, path] if _is_model_sheet(path) else [path]
    # Narrow networks keep this fast; every binding in the file is still
    # parsed and checked against the configurables.
    cli.parse_gin(files, ["Encoder.dense_units = 8",
                           "Decoder.dense_units = 8",
                           "PriorGenerator.hidden_units = 8",
                           "LatentCritic.hidden_units = 8",
                           "ImageCritic.dense_units = 8"])
    try:
        dataset = gin.query_parameter("train.dataset")
    except ValueError:  # base.gin: method settings only, no data.
        dataset = "mnist"
    model = factory.make_model(data.image_shape(dataset))
    model.compile()
    assert model.image_shape == data.image_shape(dataset)
    groups = tf.random.uniform((model.group_size, 2) + model.image_shape)
    logs = model.train_step(groups)
    assert all(np.isfinite(float(v)) for v in logs.values())
    samples = model.sample(2, seed=0).numpy()
    assert samples.shape == (2,) + model.image_shape
    assert 0.0 <= samples.min() <= samples.max() <= 1.0
    gin.clear_config()


def test_every_dataset_has_a_sheet():
    names = {os.path.basename(p) for p in GIN_FILES}
    assert {"mnist.gin", "fashion_mnist.gin", "cifar10.gin", "celeba.gin",
            "tiny.gin", "flexae.gin", "flexae_sr.gin", "wae_gan.gin",
            "learned_prior_no_encoder_reg.gin", "mask_aae.gin", "ae_gmm.gin",
            "rae_gmm.gin", "vae.gin", "wae_wgan_gp.gin", "fp_vae.gin",
            "aae_learned_prior.gin"} <= names
