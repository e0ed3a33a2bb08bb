"""Test-wide setup and the fixtures test modules share.

TF backend for Keras, quiet TF logs, and a private cache of real-image
features per test process (subprocesses inherit it), so tests neither read
nor fill the user's ~/.cache.
"""

import fcntl
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("FLEXAE_FEATURE_CACHE_DIR",
                      tempfile.mkdtemp(prefix="flexae_features_"))

import gin  # pylint: disable=g-import-not-at-top,wrong-import-position
import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

import flexae_tf  # pylint: disable=unused-import,wrong-import-position
from tests import helpers  # pylint: disable=wrong-import-position


@pytest.fixture
def small_networks():
    """A clean gin config with SMALL_NETWORKS, cleared again afterwards."""
    gin.clear_config()
    gin.parse_config(helpers.SMALL_NETWORKS)
    yield
    gin.clear_config()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run of gin/tiny.gin (2 iterations, by the training command), made
    once per test session: the first pytest-xdist worker to ask trains it
    under a file lock in the directory the workers share, the others wait
    and read it. Read it; copy it (`helpers.copy_run`) to write."""
    if not os.path.isdir(helpers.MNIST_DIR):
        pytest.skip(f"no local MNIST at {helpers.MNIST_DIR}")
    base = tmp_path_factory.getbasetemp()
    # pytest-xdist names each worker in PYTEST_XDIST_WORKER; its workers'
    # base directories share one parent.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = str(shared / "tiny_run")
    with open(str(shared / "tiny_run.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # Released when the file closes.
        done = str(shared / "tiny_run.done")
        if not os.path.exists(done):
            result = helpers.run_module(
                "flexae_tf.main", f"--gin_file={helpers.TINY}",
                f"--model_dir={path}", "--gin_param=train.num_iterations=2")
            assert result.returncode == 0, result.stderr[-3000:]
            with open(done, "w"):
                pass
    return path
