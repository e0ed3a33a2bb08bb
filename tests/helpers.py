"""Constants and markers shared by test modules (fixtures: conftest.py)."""

import os

import pytest

from flexae_tf.core import paths

# The tiny sheet: MNIST, narrow networks, a few iterations.
TINY = os.path.join(paths.REPO_ROOT, "gin", "tiny.gin")
MNIST_DIR = os.path.join(paths.default_data_dir(), "mnist")
# Tests that read MNIST say so when it is absent, instead of failing.
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(MNIST_DIR),
    reason=f"no local MNIST at {MNIST_DIR} (set FLEXAE_DATA_DIR or "
    "FLEXAE_SHARED_DIR)")

# Narrow networks for unit tests of single models; bindings a model does
# not use are inert.
SMALL_NETWORKS = """
Encoder.filters = (4, 8)
Encoder.dense_units = 16
Decoder.filters = (8, 4)
Decoder.dense_units = 16
PriorGenerator.hidden_units = 16
LatentCritic.hidden_units = 16
ImageCritic.filters = (4, 8)
ImageCritic.dense_units = 16
FlowPrior.hidden_units = 16
"""


def first_error_line(call, exceptions=None):
    """The line a command prints when `call`, the library call it makes,
    fails on bad input (`errors.first_line`); fails the test unless `call()`
    raises one of `exceptions` (default: UserError). The gin config is
    cleared before and after.

    Checks a command's bad-input path in the test process: a TensorFlow
    process per bad input would cost seconds of import each.
    """
    import gin  # pylint: disable=g-import-not-at-top
    from flexae_tf.core import errors  # pylint: disable=g-import-not-at-top
    gin.clear_config()
    try:
        with pytest.raises(exceptions or errors.UserError) as raised:
            call()
    finally:
        gin.clear_config()
    return errors.first_line(raised.value)


def run_module(module, *args, timeout=600, env=None):
    """`python -m module args...` from the repository root, output kept."""
    import subprocess  # pylint: disable=g-import-not-at-top
    import sys  # pylint: disable=g-import-not-at-top
    return subprocess.run([sys.executable, "-m", module, *args],
                          cwd=paths.REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def copy_run(model_dir, destination):
    """A private copy of a run directory, for tests that write into it."""
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.copytree(model_dir, destination,
                    ignore=shutil.ignore_patterns(".lock"))
    return str(destination)
