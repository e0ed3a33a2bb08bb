"""The training loop and the main program, end to end on real MNIST."""

import glob
import os
import subprocess
import sys

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.storage import checkpoints
from flexae_tf.core import cli
from flexae_tf.data import datasets as data
from flexae_tf.core import paths
from flexae_tf.training import train_lib
from tests import helpers

pytestmark = helpers.needs_mnist


def configure(*bindings):
    gin.clear_config()
    cli.parse_gin([helpers.TINY], list(bindings))


def all_state(model):
    """Every checkpointed value, optimizer slots and rng state included."""
    checkpoint = tf.train.Checkpoint(**model.trackables())
    values = {}
    for name, _ in tf.train.list_variables(
            checkpoint.write(os.path.join(_tmp(), "state"))):
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH":
            values[name] = tf.train.load_variable(
                os.path.join(_tmp(), "state"), name)
    return values


def _tmp():
    path = os.path.join(os.environ.get("PYTEST_TMP", "/tmp"),
                        f"flexae_state_{os.getpid()}")
    os.makedirs(path, exist_ok=True)
    return path


def test_resume_restores_every_state_and_takes_the_same_next_step(tmp_path):
    model_dir = str(tmp_path / "run")
    configure()
    trained = train_lib.train(model_dir, num_iterations=2)
    # Another seed gives other initial weights: everything must come from
    # the checkpoint.
    configure("train.seed = 1")
    resumed = train_lib.train(model_dir, num_iterations=2)  # Restores only.
    assert int(resumed.iteration.numpy()) == 2
    assert len(trained.weights) == len(resumed.weights)
    for a, b in zip(trained.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    before, after = all_state(trained), all_state(resumed)
    assert before.keys() == after.keys()
    for part in ("rng/_state_var", "iteration/", "image_critic/",
                 "smoothing_optimizer/_variables/", "latent_critic_optimizer/"
                 "_iterations"):
        assert any(key.startswith(part) for key in before), part
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    groups = next(iter(data.train_pipeline("mnist", 8, trained.group_size)))
    logs_a = tf.function(trained.train_step)(groups)
    logs_b = tf.function(resumed.train_step)(groups)
    for name in logs_a:
        assert float(logs_a[name]) == float(logs_b[name]), name


def test_training_lowers_the_reconstruction_loss_on_mnist(tmp_path):
    model_dir = str(tmp_path / "learn")
    bindings = ["train.batch_size = 32", "FlexAE.critic_steps = 1",
                "train.log_interval = 100", "train.image_interval = 1000",
                "train.checkpoint_interval = 1000",
                # tiny.gin's interval of 2 would save 61 evaluation
                # checkpoints here and split the run into 2-iteration chunks.
                "EvaluationCheckpoints.interval = 1000"]
    test_images = next(iter(data.eval_batches("mnist", "test", 256)))

    def test_loss(model):
        recon = model.reconstruct(test_images)
        return float(tf.reduce_mean(tf.reduce_sum(
            tf.square(recon - test_images), axis=[1, 2, 3])))

    configure(*bindings)
    # A separate directory: resuming at iteration 1 would make every fit
    # epoch one iteration long (epoch ends fall on the resume point).
    start = test_loss(train_lib.train(model_dir + "_start", num_iterations=1))
    configure(*bindings)
    end = test_loss(train_lib.train(model_dir, num_iterations=300))
    # Untrained decoders output ~0.5 everywhere (~190 per image); 300
    # iterations of the tiny net reach well under half of that.
    assert end < 0.5 * start, (start, end)
    samples = train_lib.train(model_dir, num_iterations=300).sample(16, 0)
    assert np.isfinite(samples.numpy()).all()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    model_dir = str(tmp_path / "nan")
    configure()
    train_lib.train(model_dir, num_iterations=2)
    configure("FlexAE.gp_weight = 1e39")  # inf in float32
    with pytest.raises(train_lib.TrainingDiverged, match="not finite"):
        train_lib.train(model_dir, num_iterations=4)
    assert checkpoints.latest(model_dir).endswith("ckpt-2")


def _main(*args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "flexae_tf.main", *args], cwd=paths.REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, **(env or {})))


def test_main_trains_resumes_and_writes_everything(tmp_path):
    model_dir = str(tmp_path / "main")
    process = _main(f"--gin_file={helpers.TINY}", f"--model_dir={model_dir}")
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    assert os.path.exists(os.path.join(model_dir, "operative_config.gin"))
    assert checkpoints.latest(model_dir).endswith("ckpt-4")
    for picture in ("real", "reconstructions", "samples", "interpolations",
                    "latent_scatter"):
        assert os.path.exists(
            os.path.join(model_dir, "images", f"{picture}_4.png")), picture
    tags = set()
    for path in glob.glob(os.path.join(model_dir, "train", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {value.tag for value in event.summary.value}
    assert {"losses/recon_loss", "losses/latent_wasserstein",
            "losses/image_wasserstein", "samples",
            "interpolations"} <= tags
    assert "it/s" in err and "ETA" in err
    process = _main(f"--gin_file={helpers.TINY}", f"--model_dir={model_dir}",
                    "--gin_param=train.num_iterations=6")
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    assert "Resumed from" in err and "at iteration 4" in err
    assert checkpoints.latest(model_dir).endswith("ckpt-6")


# A bad flag and a bad gin file reach the user through absl's and gin's
# parsers: cli_test runs the command for each. Every other bad input is a
# UserError raised by training, of which main prints the first line: one
# command checks that path (a missing dataset, which needs its own
# environment), the others are checked in this process by the library
# calls main makes; a TensorFlow process each would cost seconds of
# import and test nothing more.
def test_missing_data_is_one_clear_error(tmp_path):
    # No download: without a network TFDS would hang until it times out.
    process = _main("--gin_file=gin/tiny.gin",
                    "--gin_param=load_images.download=False",
                    f"--model_dir={tmp_path / 'bad'}",
                    env={"FLEXAE_DATA_DIR": "/nonexistent",
                         "TFDS_DATA_DIR": "/nonexistent/tfds"})
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2, err[-2000:]
    assert "FLEXAE_DATA_DIR" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: ")


def _first_line_of_user_error(model_dir, gin_files, bindings):
    """What main prints for a bad input."""
    def call():
        cli.load_gin(gin_files, bindings)
        train_lib.train(model_dir)
    return helpers.first_error_line(call)


@pytest.mark.parametrize("gin_files,bindings,message", [
    (["gin/missing.gin"], [], "Bad gin configuration"),
    ([helpers.TINY], ["FlexAE.no_such_arg=3"], "Bad gin configuration"),
    ([helpers.TINY], ["train.dataset='imagenet'"],
     "Unknown dataset 'imagenet'"),
    ([helpers.TINY], ["train.batch_size=0"], "train.batch_size=0"),
])
def test_bad_config_is_a_one_line_user_error(tmp_path, gin_files, bindings,
                                             message):
    assert message in _first_line_of_user_error(str(tmp_path / "bad"),
                                                gin_files, bindings)
    assert not os.path.exists(tmp_path / "bad" / "checkpoints")


@pytest.mark.parametrize("where,message", [
    ("file", "is a file"), ("file/run", "a part of it is a file"),
    ("locked", "in use by another trainer (pid")])
def test_unusable_model_dir_is_a_one_line_user_error(tmp_path, where,
                                                      message):
    from flexae_tf.training import run_lock  # pylint: disable=g-import-not-at-top
    (tmp_path / "file").write_text("not a directory")
    (tmp_path / "locked").mkdir()
    holder = run_lock.RunLock(str(tmp_path / "locked"))
    try:
        assert message in _first_line_of_user_error(str(tmp_path / where),
                                                    [helpers.TINY], [])
    finally:
        holder.release()
    assert (tmp_path / "file").read_text() == "not a directory"


def test_periodic_evaluation_writes_a_learning_curve(tmp_path):
    """train.eval_interval: FID scalars at every interval, in the features
    asked for (the suites' learning curves use the cheap projection)."""
    model_dir = str(tmp_path / "curve")
    configure("train.eval_interval = 2", "train.eval_num_samples = 100",
              "train.eval_features = 'random_projection'")
    train_lib.train(model_dir, num_iterations=4)
    steps = {}
    for path in glob.glob(os.path.join(model_dir, "train", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                steps.setdefault(value.tag, set()).add(event.step)
    assert steps["eval/fid/generation"] == {2, 4}
    assert steps["eval/fid/reconstruction"] == {2, 4}
    assert "eval/features" not in steps  # Strings are not scalars.
