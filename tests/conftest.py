"""Test-wide setup: TF backend for Keras, quiet TF logs, CPU determinism."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
