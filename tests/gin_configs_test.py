"""Every experiment sheet in gin/ parses and builds its model."""

import glob
import os

import flexae_tf  # pylint: disable=unused-import
import gin
import pytest

from flexae_tf import cli
from flexae_tf import data
from flexae_tf import models
from flexae_tf import paths

GIN_FILES = sorted(glob.glob(os.path.join(paths.REPO_ROOT, "gin", "*.gin")))


@pytest.mark.parametrize("path", GIN_FILES, ids=os.path.basename)
def test_gin_file_parses_and_builds(path):
    gin.clear_config()
    # Narrow networks keep this fast; every binding in the file is still
    # parsed and checked against the configurables.
    cli.parse_gin([path], ["Encoder.dense_units = 8",
                           "Decoder.dense_units = 8",
                           "PriorGenerator.hidden_units = 8",
                           "LatentCritic.hidden_units = 8",
                           "ImageCritic.dense_units = 8"])
    try:
        dataset = gin.query_parameter("train.dataset")
    except ValueError:  # base.gin: method settings only, no data.
        dataset = "mnist"
    model = models.make_model(data.image_shape(dataset))
    model.compile()
    assert model.image_shape == data.image_shape(dataset)
    gin.clear_config()


def test_every_dataset_has_a_sheet():
    names = {os.path.basename(p) for p in GIN_FILES}
    assert {"mnist.gin", "fashion_mnist.gin", "cifar10.gin", "celeba.gin",
            "tiny.gin"} <= names
