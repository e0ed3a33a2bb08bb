"""Test-wide setup: TF backend for Keras, quiet TF logs, CPU determinism."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # pylint: disable=g-import-not-at-top,wrong-import-position
import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

import flexae_tf  # pylint: disable=unused-import,wrong-import-position

# Narrow networks for unit tests of single models; bindings a model does
# not use are inert.
SMALL_NETWORKS = """
Encoder.filters = (4, 8)
Encoder.dense_units = 16
Decoder.filters = (8, 4)
Decoder.dense_units = 16
LatentCritic.hidden_units = 16
FlowPrior.hidden_units = 16
"""


@pytest.fixture
def small_networks():
    """A clean gin config with SMALL_NETWORKS, cleared again afterwards."""
    gin.clear_config()
    gin.parse_config(SMALL_NETWORKS)
    yield
    gin.clear_config()
