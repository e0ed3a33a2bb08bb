"""Test-wide setup: TF backend for Keras, quiet TF logs, CPU determinism."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # pylint: disable=g-import-not-at-top,wrong-import-position
import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

import flexae_tf  # pylint: disable=unused-import,wrong-import-position
from tests.helpers import SMALL_NETWORKS  # pylint: disable=wrong-import-position


@pytest.fixture
def small_networks():
    """A clean gin config with SMALL_NETWORKS, cleared again afterwards."""
    gin.clear_config()
    gin.parse_config(SMALL_NETWORKS)
    yield
    gin.clear_config()
