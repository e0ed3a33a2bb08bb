"""Command-line inputs that used to give tracebacks give one line, exit 2."""

import os
import subprocess
import sys

import flexae_tf  # pylint: disable=unused-import
import gin
import pytest

from flexae_tf.core import cli
from flexae_tf.core import errors

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("binding", [
    "train.num_iterations = (1",      # tokenize.TokenError in gin
    "train.dataset = 'mnist",
    "train.num_iterations = ",
])
def test_gin_syntax_errors_are_user_errors(binding):
    with pytest.raises(errors.UserError, match="^Bad gin configuration: "):
        cli.load_gin(["gin/tiny.gin"], [binding])
    gin.clear_config()


def test_sheets_resolve_by_name_and_path_from_any_directory(tmp_path,
                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    for sheet in ("tiny.gin", "gin/tiny.gin"):
        cli.load_gin([sheet], [])
        assert gin.query_parameter("train.batch_size") == 8
    gin.clear_config()


def test_command_line_errors_are_one_line(tmp_path):
    bad_sheet = tmp_path / "bad.gin"
    bad_sheet.write_text("include 'gin/tiny.gin'\nFlexAE.critic_steps = (2\n")
    runs = {
        "Bad gin configuration: EOF in multi-line statement": [
            "-m", "flexae_tf.main", f"--gin_file={bad_sheet}",
            f"--model_dir={tmp_path / 'run'}"],
        "Unknown command line flag 'model_directory'": [
            "-m", "flexae_tf.main", "--gin_file=gin/tiny.gin",
            f"--model_directory={tmp_path / 'run'}"],
    }
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(
                   [REPO_ROOT] + [p for p in [os.environ.get("PYTHONPATH")]
                                  if p]))
    processes = {message: subprocess.Popen(
        [sys.executable, *args], cwd=str(tmp_path), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for message, args in runs.items()}
    for message, process in processes.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, stderr[-2000:]
        lines = [l for l in stderr.splitlines() if l.startswith("error: ")]
        assert len(lines) == 1 and message in lines[0], stderr[-2000:]
        for noise in ("Traceback", "FATAL", "helpshort"):
            assert noise not in stderr, stderr[-2000:]
    assert not (tmp_path / "run").exists()


def test_default_model_dir_names_every_sheet():
    assert cli.default_model_dir(["gin/mnist.gin"]) == os.path.join(
        "runs", "mnist")
    assert cli.default_model_dir(
        ["gin/mnist.gin", "gin/wae_gan.gin"]) == os.path.join(
            "runs", "mnist+wae_gan")
    assert cli.default_model_dir(
        ["mnist.gin", "gin/experiments/cpu_networks.gin"]) == os.path.join(
            "runs", "mnist+cpu_networks")
    # Naming a sheet twice applies it twice; it is still one run.
    assert cli.default_model_dir(
        ["gin/mnist.gin", "gin/mnist.gin"]) == os.path.join("runs", "mnist")


@pytest.mark.skipif(not os.path.isdir(os.path.join(
    os.path.dirname(REPO_ROOT), "shared", "datasets")) and
    "FLEXAE_DATA_DIR" not in os.environ and
    "FLEXAE_SHARED_DIR" not in os.environ,
    reason="no local MNIST: set FLEXAE_SHARED_DIR or FLEXAE_DATA_DIR")
def test_training_without_model_dir_names_every_sheet(tmp_path):
    # A baseline sheet after a dataset sheet once trained into the dataset
    # sheet's own run directory.
    (tmp_path / "one_iteration.gin").write_text(
        "train.num_iterations = 1\nEvaluationCheckpoints.interval = 1\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(
                   [REPO_ROOT] + [p for p in [os.environ.get("PYTHONPATH")]
                                  if p]))
    done = subprocess.run(
        [sys.executable, "-m", "flexae_tf.main", "--gin_file=gin/tiny.gin",
         "--gin_file=one_iteration.gin"], cwd=str(tmp_path), env=env,
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "runs" / "tiny+one_iteration" / "checkpoints").is_dir()
    assert not (tmp_path / "runs" / "tiny").exists()
