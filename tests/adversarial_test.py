"""Hostile input, one case at a time (issue 21): each ends in one clear
line (a `UserError`, exit 2 on the command line) or is survived, and
nothing non-finite or half-written is ever left in model_dir.

One trained tiny run serves the module; every case that can runs in this
process. Subprocesses only where the exit status or a signal is the
behaviour.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf import export as export_lib
from flexae_tf.evaluation import run as evaluation_run
from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.core import files
from flexae_tf.core import paths
from flexae_tf.data import datasets as data
from flexae_tf.evaluation import features as features_lib
from flexae_tf.evaluation import selection
from flexae_tf.storage import artifacts
from flexae_tf.storage import checkpoints
from flexae_tf.storage import eval_checkpoints
from flexae_tf.training import train_lib
from tests import helpers

MNIST = os.path.join(paths.default_data_dir(), "mnist")
pytestmark = pytest.mark.skipif(not os.path.isdir(MNIST),
                                reason="../shared/datasets/mnist is absent")
# Evaluation checkpoints at 2 and 4, so one can be damaged and the other
# still selected.
WINDOW = "EvaluationCheckpoints.window = 1.0"
DEAD_PID = 2**22 + 12345  # Above Linux's pid_max default: never running.


def configure(*bindings):
    cli.load_gin([helpers.TINY], [WINDOW] + list(bindings))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny run (iterations 4, checkpoints and evaluation
    checkpoints at 2 and 4). Copy it before damaging it."""
    model_dir = str(tmp_path_factory.mktemp("adversarial") / "run")
    configure()
    train_lib.train(model_dir)
    return model_dir


def _copy(source, tmp_path, name="copy"):
    target = str(tmp_path / name)
    shutil.copytree(source, target)
    return target


def _finite(path):
    reader = tf.train.load_checkpoint(path)
    return all(np.all(np.isfinite(reader.get_tensor(name)))
               for name in reader.get_variable_to_shape_map()
               if reader.get_variable_to_dtype_map()[name].is_floating)


def _one_line(error):
    """One line, but for gin's "In call to configurable" context, which the
    entry points drop (main.py, evaluate.py)."""
    return "\n" not in str(error).split("\n  In call to")[0].strip()


# --------------------------------------------------- nothing non-finite
def test_a_diverged_run_writes_no_non_finite_evaluation_checkpoint(
        tmp_path):
    model_dir = str(tmp_path / "diverged")
    configure("reconstruction/make_optimizer.learning_rate = 1e30",
              "train.log_interval = 1", "train.checkpoint_interval = 1",
              "EvaluationCheckpoints.interval = 1")
    with pytest.raises(train_lib.TrainingDiverged, match="not finite"):
        train_lib.train(model_dir)
    written = [prefix for _, prefix in eval_checkpoints.list_checkpoints(
        model_dir)] if os.path.isdir(
            os.path.join(model_dir, "eval_checkpoints")) else []
    assert all(_finite(prefix) for prefix in written), written
    assert not os.path.exists(os.path.join(model_dir, "model.keras")) or (
        np.all([np.all(np.isfinite(w)) for w in artifacts.load_keras(
            os.path.join(model_dir, "model.keras")).get_weights()]))


def _poison(prefix, model):
    """Overwrites evaluation checkpoint `prefix` with NaN decoder weights."""
    model.decoder.to_pixels.bias.assign(
        np.full(model.decoder.to_pixels.bias.shape, np.nan, np.float32))
    eval_checkpoints.inference_checkpoint(model).write(prefix)


@pytest.mark.parametrize("damage", ["nan", "truncate"])
def test_evaluation_names_and_skips_a_bad_checkpoint(trained, tmp_path,
                                                     damage):
    model_dir = _copy(trained, tmp_path)
    model, _, dataset = checkpoints.load_trained(model_dir)
    candidates = eval_checkpoints.list_checkpoints(model_dir)
    assert [it for it, _ in candidates] == [2, 4]
    bad = candidates[-1][1]
    if damage == "nan":
        _poison(bad, model)
    else:  # `truncate -s 1000 eval_checkpoints/ckpt-4.data-*`
        with open(bad + ".data-00000-of-00001", "r+b") as f:
            f.truncate(1000)
    features = features_lib.RandomProjectionFeatures(dim=16)
    for protocol in selection.PROTOCOLS:
        summary, entries = selection.run_protocol(
            model, dataset, candidates, protocol, ("fid",), 100,
            feature_fn=features, batch_size=50)
        assert list(summary["skipped"]) == [4]
        assert "ckpt-4" in summary["skipped"][4]
        assert 4 not in {e["iteration"] for e in entries}
        if protocol == "standard":
            assert summary["iteration"] == 2
    # Every candidate bad: one line, not an empty selection.
    with pytest.raises(errors.UserError, match="no usable checkpoint"):
        selection.run_protocol(model, dataset, candidates[-1:], "standard",
                               ("fid",), 100, feature_fn=features,
                               batch_size=50)


# ------------------------------------------------- what is read is checked
@pytest.mark.parametrize("binding,part", [
    ("LATENT_DIM = 16", "encoder"),
    ("Decoder.dense_units = 16", "decoder"),
])
def test_resume_with_other_shapes_is_one_line_naming_part_and_setting(
        trained, tmp_path, binding, part):
    model_dir = _copy(trained, tmp_path)
    configure(binding)
    with pytest.raises(checkpoints.CheckpointMismatch) as raised:
        train_lib.train(model_dir, num_iterations=6)
    message = str(raised.value)
    assert _one_line(raised.value) and part in message, message
    assert binding.split(" = ", maxsplit=1)[0] in message, message
    assert sorted(os.listdir(os.path.join(model_dir, "checkpoints"))) == (
        sorted(os.listdir(os.path.join(trained, "checkpoints"))))


def test_a_truncated_keras_file_says_so(trained, tmp_path):
    path = str(tmp_path / "model.keras")
    shutil.copy(os.path.join(trained, "model.keras"), path)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(errors.UserError, match="truncated") as raised:
        artifacts.load_keras(path)
    assert "not found" not in str(raised.value)


# ------------------------------------------------------ model_dir layout
@pytest.mark.parametrize("name,kind", [
    ("eval_checkpoints", "file"), ("images", "file"), ("train", "file"),
    ("checkpoints", "file"), ("operative_config.gin", "folder"),
    ("model.keras", "folder"),
])
def test_a_model_dir_entry_of_the_wrong_kind_is_one_line(tmp_path, name,
                                                         kind):
    model_dir = str(tmp_path / "run")
    os.makedirs(model_dir)
    path = os.path.join(model_dir, name)
    if kind == "file":
        open(path, "w").close()
    else:
        os.makedirs(path)
    configure()
    started = time.time()
    with pytest.raises(errors.UserError, match=name) as raised:
        train_lib.train(model_dir)
    assert _one_line(raised.value) and "None" not in str(raised.value)
    assert time.time() - started < 30  # Refused at start.
    assert not os.path.isdir(os.path.join(model_dir, "checkpoints"))


# ------------------------------------------------------------------ data
def _data_dir(tmp_path, test_file):
    """A local IDX directory: MNIST's training file, and `test_file`."""
    directory = tmp_path / "datasets" / "mnist"
    directory.mkdir(parents=True)
    os.symlink(os.path.join(MNIST, "train-images-idx3-ubyte.gz"),
               directory / "train-images-idx3-ubyte.gz")
    if test_file is not None:
        (directory / "t10k-images-idx3-ubyte").write_bytes(test_file)
    return str(tmp_path / "datasets")


def test_a_missing_split_of_local_files_is_never_downloaded(tmp_path,
                                                            monkeypatch):
    data_dir = _data_dir(tmp_path, None)
    monkeypatch.setenv("FLEXAE_DATA_DIR", data_dir)
    started = time.time()
    with pytest.raises(data.DataError, match="t10k-images") as raised:
        data.load_images("mnist", "test")
    assert _one_line(raised.value)
    monkeypatch.delenv("FLEXAE_DATA_DIR")
    gin.clear_config()
    gin.bind_parameter("load_images.data_dir", data_dir)
    with pytest.raises(data.DataError, match="t10k-images"):
        data.load_images("mnist", "test")
    gin.clear_config()
    assert time.time() - started < 20  # No TFDS download attempt.


def test_an_empty_test_split_stops_training(tmp_path):
    empty = np.array([2051, 0, 28, 28], ">u4").tobytes()
    data_dir = _data_dir(tmp_path, empty)
    configure(f"load_images.data_dir = '{data_dir}'")
    with pytest.raises(data.DataError, match="0 images"):
        train_lib.train(str(tmp_path / "run"))
    assert not os.path.isdir(str(tmp_path / "run" / "checkpoints"))


# ------------------------------------------- gin values before any work
@pytest.mark.parametrize("binding,message", [
    ("train.seed = 'x'", "train.seed='x'"),
    ("train.seed = -1", "train.seed=-1"),
    ("train.seed = 1.5", "train.seed=1.5"),
    ("train.dataset = 'mnist2'", "mnist2"),
    ("train.strategy = 'tpu9'", "tpu9"),
    ("train.precision = 'float8'", "float8"),
    ("train.jit_compile = 'yes'", "jit_compile"),
    ("train.keep_checkpoints = 0", "keep_checkpoints=0"),
    ("train.callbacks = 3", "train.callbacks"),
    ("train.warm_start_from = 5", "warm_start_from"),
    ("train.eval_num_samples = 0", "eval_num_samples"),
    ("load_images.validation_size = -3", "validation_size"),
    ("load_images.validation_size = 70000", "validation_size"),
    ("EvaluationCheckpoints.window = 2.0", "window"),
])
def test_bad_gin_values_are_one_line_before_work(tmp_path, binding,
                                                  message):
    configure(binding)
    with pytest.raises(errors.UserError) as raised:
        train_lib.train(str(tmp_path / "run"))
    assert message in str(raised.value), str(raised.value)
    assert _one_line(raised.value)
    assert not os.path.isdir(str(tmp_path / "run" / "checkpoints"))


def test_evaluate_refuses_too_many_samples_before_any_work(trained,
                                                           monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("features were computed before the check")

    monkeypatch.setattr(features_lib, "feature_network", no_work)
    with pytest.raises(errors.UserError, match="20000.*10000") as raised:
        evaluation_run.evaluate_run(trained, "standard", 20000, ["fid"])
    assert _one_line(raised.value)


def test_a_lone_model_sheet_asks_for_the_dataset_sheet():
    with pytest.raises(errors.UserError, match="dataset sheet") as raised:
        cli.load_gin([os.path.join(paths.REPO_ROOT, "gin", "wae_gan.gin")],
                     [])
    assert _one_line(raised.value)
    assert not str(raised.value).rstrip().endswith(":")


# ------------------------------------------------- kill -9 leftovers
def test_kill_9_leftovers_are_removed_at_the_next_start(trained, tmp_path):
    model_dir = _copy(trained, tmp_path)
    left = [os.path.join(model_dir, f".model.keras.tmp-{DEAD_PID}.keras"),
            os.path.join(model_dir, f".operative_config.gin.tmp-{DEAD_PID}"),
            os.path.join(model_dir, "eval_checkpoints",
                         f".ckpt-6.tmp-{DEAD_PID}.data-00000-of-00001")]
    for path in left:
        open(path, "w").close()
    configure()
    train_lib.train(model_dir)  # Already trained: cleans, returns.
    assert not [p for p in left if os.path.exists(p)]
    export_dir = str(tmp_path / "export")
    staging = os.path.join(export_dir, f".export-1.tmp-{DEAD_PID}")
    os.makedirs(staging)
    model, _, _ = checkpoints.load_trained(model_dir)
    version, _, _ = export_lib.export(model, export_dir, tflite=False)
    assert version == 1 and not os.path.exists(staging)
    assert sorted(os.listdir(export_dir)) == ["1"]


def test_the_atomic_writer_names_the_path_when_a_folder_is_in_the_way(
        tmp_path):
    path = tmp_path / "results.json"
    path.mkdir()
    with pytest.raises(files.WriteError, match="results.json"):
        files.write_atomically(str(path), "{}")


# ----------------------------------------------- command line: exit codes
def _main(model_dir, *params):
    return subprocess.Popen(
        [sys.executable, "-m", "flexae_tf.main", f"--gin_file={helpers.TINY}",
         f"--model_dir={model_dir}"] + [f"--gin_param={p}" for p in params],
        cwd=paths.REPO_ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)


def test_sigterm_checkpoints_the_current_chunk_and_resumes(tmp_path):
    model_dir = str(tmp_path / "preempted")
    process = _main(model_dir, "train.num_iterations=2000",
                    "train.checkpoint_interval=1000", "train.log_interval=2",
                    "train.image_interval=1000")
    lines = []
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if "iteration 4/" in line or not line:
            break
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=120)
    last = rest.strip().splitlines()[-1]
    assert process.returncode == train_lib.INTERRUPTED_STATUS, rest[-2000:]
    assert "SIGTERM" in last and "resume" in last, last
    stopped = checkpoints._number(checkpoints.latest(model_dir))  # pylint: disable=protected-access
    assert 4 <= stopped < 2000 and f"iteration {stopped}" in last
    assert os.path.isfile(os.path.join(model_dir, "model.keras"))
    checkpoints.verify(checkpoints.latest(model_dir))
    configure()
    model = train_lib.train(model_dir, num_iterations=stopped + 2)
    assert int(model.iteration.numpy()) == stopped + 2


def test_evaluate_gin_errors_are_one_line_user_errors(trained):
    # gin appends "In call to configurable ..." lines; the evaluate command
    # prints the first line of what evaluate_run raises (evaluation_test
    # runs the command on that path), so that line must say it all.
    assert "pixels" in helpers.first_error_line(
        lambda: evaluation_run.evaluate_run(
            trained, "standard", 100, ["fid", "prd"],
            gin_bindings=["run_protocol.features='pixels'"]),
        evaluation_run.BAD_INPUT_ERRORS)
