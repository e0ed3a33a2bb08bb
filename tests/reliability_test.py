"""Reliability of training (issue 12): every defect here was reproduced.

Finite checkpoints only, configured rates after a resume, no silent model
change, one trainer per model_dir, corrupt checkpoints skipped, exact
boundaries, and one clear error for each bad input.
"""

import errno
import os
import subprocess
import sys

import flexae_tf  # pylint: disable=unused-import
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.training import callbacks
from flexae_tf.storage import checkpoints
from flexae_tf.core import cli
from flexae_tf.data import datasets as data
from flexae_tf.data import idx
from flexae_tf.core import errors
from flexae_tf.core import paths
from flexae_tf.training import run_lock
from flexae_tf.training import train_lib
from tests import helpers

pytestmark = helpers.needs_mnist


def configure(*bindings):
    gin.clear_config()
    cli.parse_gin([helpers.TINY], list(bindings))


def numbers(model_dir):
    return sorted(checkpoints._number(p)  # pylint: disable=protected-access
                  for p in checkpoints.candidates(model_dir))


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A finished tiny run with checkpoints at 2 and 4 (read-only use)."""
    model_dir = str(tmp_path_factory.mktemp("trained") / "run")
    configure()
    train_lib.train(model_dir)
    return model_dir


def _copy(source, tmp_path):
    target = str(tmp_path / "copy")
    subprocess.run(["cp", "-r", source, target], check=True)
    return target


# ------------------------------------------------------------ item 1
def test_a_non_finite_update_is_never_checkpointed(tmp_path):
    model_dir = str(tmp_path / "poison")
    configure("train.checkpoint_interval = 1", "train.log_interval = 1",
              "encoder_adversarial/make_optimizer.learning_rate = 1e39")
    with pytest.raises(train_lib.TrainingDiverged, match="not finite"):
        train_lib.train(model_dir)
    for path in checkpoints.candidates(model_dir):
        checkpoints.verify(path)  # Raises on any NaN / inf tensor.


def test_restore_skips_a_non_finite_checkpoint(trained_dir, tmp_path):
    model_dir = _copy(trained_dir, tmp_path)
    configure()
    model, _ = checkpoints.restore_model(model_dir, (28, 28, 1))
    checkpoint = tf.train.Checkpoint(**model.trackables())
    model.encoder.code.kernel.assign(
        np.full(model.encoder.code.kernel.shape, np.nan, np.float32))
    latest = checkpoints.latest(model_dir)
    checkpoint.write(latest)  # Poison the newest one in place.
    with pytest.raises(checkpoints.CorruptCheckpoint, match="not finite"):
        checkpoints.verify(latest)
    restored, iteration = checkpoints.restore_model(model_dir, (28, 28, 1))
    assert iteration == 2
    assert np.isfinite(restored.encoder.code.kernel.numpy()).all()


# ------------------------------------------------------------ item 2
def test_configured_learning_rates_apply_after_resume(trained_dir,
                                                      tmp_path):
    model_dir = _copy(trained_dir, tmp_path)
    configure("reconstruction/make_optimizer.learning_rate = 1e-3")
    model = train_lib.train(model_dir, num_iterations=6)
    assert float(model.reconstruction_optimizer.learning_rate.numpy()) == (
        pytest.approx(1e-3))
    with open(os.path.join(model_dir, checkpoints.CONFIG_FILE)) as f:
        assert "reconstruction/make_optimizer.learning_rate = 0.001" in (
            f.read())
    stored = tf.train.load_variable(
        checkpoints.latest(model_dir),
        "reconstruction_optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE")
    assert stored == pytest.approx(1e-3)


# ------------------------------------------------------------ item 3
def test_resuming_with_another_model_is_an_error(trained_dir, tmp_path):
    model_dir = _copy(trained_dir, tmp_path)
    configure("FlexAE.smoothing = False")  # FlexAE, not FlexAE-SR.
    with pytest.raises(checkpoints.CheckpointMismatch,
                       match="image_critic"):
        train_lib.train(model_dir, num_iterations=6)
    with pytest.raises(checkpoints.CheckpointMismatch,
                       match="image_critic"):
        checkpoints.restore_model(model_dir, (28, 28, 1))
    assert numbers(model_dir) == [2, 4]  # Nothing was written.


def test_warm_start_from_another_model_is_explicit(trained_dir, tmp_path):
    configure("FlexAE.smoothing = False",
              f"train.warm_start_from = '{trained_dir}'",
              "train.num_iterations = 2")
    model = train_lib.train(str(tmp_path / "warm"))
    assert int(model.iteration.numpy()) == 2
    assert int(model.reconstruction_optimizer.iterations.numpy()) == 2


# ------------------------------------------------------------ item 4
def test_a_second_trainer_stops_naming_the_holder(tmp_path):
    model_dir = str(tmp_path / "locked")
    os.makedirs(model_dir)
    holder = run_lock.RunLock(model_dir)
    try:
        configure()
        with pytest.raises(errors.UserError,
                           match=f"in use.*pid {os.getpid()} on host"):
            train_lib.train(model_dir)
    finally:
        holder.release()


def test_the_lock_dies_with_its_process(tmp_path):
    model_dir = str(tmp_path / "killed")
    os.makedirs(model_dir)
    process = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from flexae_tf.training import run_lock; "
         f"run_lock.RunLock({model_dir!r}); print('held', flush=True); "
         "time.sleep(600)"],
        cwd=paths.REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        with pytest.raises(errors.UserError, match=f"pid {process.pid}"):
            run_lock.RunLock(model_dir)
    finally:
        process.kill()  # SIGKILL: no cleanup in the holder.
        process.wait()
    run_lock.RunLock(model_dir).release()


# ------------------------------------------------------------ item 5
@pytest.mark.parametrize("damage", ["truncate_data", "flip_data",
                                    "truncate_index"])
def test_a_corrupt_latest_checkpoint_falls_back(trained_dir, tmp_path,
                                                damage, caplog):
    model_dir = _copy(trained_dir, tmp_path)
    latest = checkpoints.latest(model_dir)
    assert latest.endswith("ckpt-4")
    suffix = ".index" if damage == "truncate_index" else (
        ".data-00000-of-00001")
    with open(latest + suffix, "r+b") as f:
        size = f.seek(0, 2)
        if damage == "flip_data":
            f.seek(size // 2)
            byte = f.read(1)
            f.seek(size // 2)
            f.write(bytes([byte[0] ^ 0x10]))
        else:
            f.truncate(size // 2)
    with pytest.raises(checkpoints.CorruptCheckpoint):
        checkpoints.verify(latest)
    configure()
    _, iteration = checkpoints.restore_model(model_dir, (28, 28, 1))
    assert iteration == 2
    assert "ckpt-4" in caplog.text and "corrupt" in caplog.text
    configure()
    model = train_lib.train(model_dir)  # Resumes at 2, redoes 3 and 4.
    assert int(model.iteration.numpy()) == 4
    checkpoints.verify(checkpoints.latest(model_dir))


def test_orphans_of_killed_saves_are_removed(trained_dir, tmp_path):
    model_dir = _copy(trained_dir, tmp_path)
    directory = os.path.join(model_dir, "checkpoints")
    os.makedirs(os.path.join(directory, "ckpt-6_temp"))
    for name in ("ckpt-6_temp/part-00000-of-00001.index", "ckpt-1.index",
                 "ckpt-1.data-00000-of-00001"):
        open(os.path.join(directory, name), "w").close()
    configure()
    train_lib.train(model_dir)  # Already done: cleans and returns.
    assert sorted(os.listdir(directory)) == [
        "checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index",
        "ckpt-4.data-00000-of-00001", "ckpt-4.index"]


# ------------------------------------------------ fit(): exact boundaries
class _Recorder(keras.callbacks.Callback):

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((logs["iteration"], int(self.model.iteration.numpy()),
                          self.model.steps_per_execution))


def test_boundaries_fall_exactly_on_every_interval(tmp_path):
    model_dir = str(tmp_path / "boundaries")
    recorder = _Recorder()
    configure("train.log_interval = 4", "train.image_interval = 6",
              "train.checkpoint_interval = 4", "train.num_iterations = 12",
              "train.keep_checkpoints = 10")
    train_lib.train(model_dir, callbacks=[recorder])
    # gcd(4, 6, 4, 12) = 2 iterations per epoch, run in one execution.
    assert recorder.seen == [(i, i, 2) for i in range(2, 13, 2)]
    assert numbers(model_dir) == [4, 8, 12]
    for number in (4, 8, 12):
        path = os.path.join(model_dir, "checkpoints", f"ckpt-{number}")
        assert tf.train.load_variable(
            path, "iteration/.ATTRIBUTES/VARIABLE_VALUE") == number
        assert tf.train.load_variable(
            path, "reconstruction_optimizer/_iterations/.ATTRIBUTES/"
            "VARIABLE_VALUE") == number
    pictures = sorted(int(name[len("samples_"):-4]) for name in os.listdir(
        os.path.join(model_dir, "images")) if name.startswith("samples_"))
    assert pictures == [6, 12]


def test_early_stopping_from_gin_stops_and_keeps_the_last_boundary(
        tmp_path):
    model_dir = str(tmp_path / "early")
    configure("train.callbacks = [@EarlyStopping()]",
              "EarlyStopping.monitor = 'iteration'",
              "EarlyStopping.patience = 1", "EarlyStopping.mode = 'min'",
              "train.num_iterations = 40", "train.checkpoint_interval = 40")
    model = train_lib.train(model_dir)
    # `iteration` never improves in 'min' mode: stop after the 2nd epoch
    # (2 iterations each, the log interval).
    assert int(model.iteration.numpy()) == 4
    assert numbers(model_dir) == [4]


# --------------------------------------------------------- item 7, 8
def test_model_dir_that_is_a_file_or_under_one(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for model_dir, message in ((blocker, "is a file"),
                               (blocker / "run", "cannot be created")):
        configure()
        with pytest.raises(errors.UserError, match=message):
            train_lib.train(str(model_dir))


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model_dir = str(tmp_path / "full")
    save = tf.train.CheckpointManager.save

    def save_until_full(self, checkpoint_number=None, **kwargs):
        if checkpoint_number > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(self, checkpoint_number=checkpoint_number, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save_until_full)
    configure()
    with pytest.raises(callbacks.CheckpointWriteError,
                       match="No space left.*ckpt-2 is intact"):
        train_lib.train(model_dir)
    assert numbers(model_dir) == [2]


@pytest.mark.parametrize("bindings,message", [
    (["train.num_iterations = True", "train.eval_metrics = ['no_such']"],
     "train.num_iterations=True"),
    (["train.eval_interval = 2", "train.eval_metrics = ['no_such']"],
     "unknown \\['no_such'\\]"),
    (["train.eval_interval = 2", "train.eval_features = 'pixels'"],
     "eval_features='pixels'"),
])
def test_bad_settings_fail_before_training(tmp_path, bindings, message):
    configure(*bindings)
    with pytest.raises(errors.UserError, match=message):
        train_lib.train(str(tmp_path / "bad"))
    assert not os.path.exists(tmp_path / "bad" / "checkpoints")


def test_idx_file_with_no_images_is_a_data_error(tmp_path):
    path = tmp_path / "empty-idx3-ubyte"
    path.write_bytes(np.array([2051, 0, 28, 28], ">u4").tobytes())
    with pytest.raises(data.DataError, match="0 images"):
        idx.read_images(str(path))


def test_tfds_datasets_load_offline():
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    # mock_data has no split sizes, so no validation split can be held out
    # (a prepared TFDS dataset has them in its dataset info).
    gin.clear_config()  # Unlocks it too.
    gin.bind_parameter("load_images.validation_size", 0)
    with tfds.testing.mock_data(num_examples=20):
        images, count = data.load_images("cifar10", "train")
        batch = next(iter(images.batch(4)))
        groups = next(iter(data.train_pipeline("cifar10", 4, 2)))
    gin.clear_config()
    assert count is None and batch.shape == (4, 32, 32, 3)
    assert groups.shape == (2, 4, 32, 32, 3) and groups.dtype == tf.float32
