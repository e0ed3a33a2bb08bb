"""The evaluate command and library on a tiny trained model."""

import glob
import json
import os
import subprocess
import sys

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.evaluation import samples
from flexae_tf.storage import checkpoints
from flexae_tf.evaluation import model_metrics
from flexae_tf.evaluation import run as evaluation_run
from flexae_tf.core import paths
from tests import helpers

pytestmark = helpers.needs_mnist


_run = helpers.run_module


@pytest.fixture(scope="module")
def model_dir(tiny_run, tmp_path_factory):
    # Evaluation writes <model_dir>/eval: a copy of the shared run.
    return helpers.copy_run(tiny_run, tmp_path_factory.mktemp("eval") / "run")


RP = "--gin_param=run_protocol.features='random_projection'"


def _entries(model_dir):
    with open(os.path.join(model_dir, "eval", "results.json")) as f:
        return json.load(f)["entries"]


def test_evaluate_command_writes_results_summaries_and_grids(model_dir):
    result = _run("flexae_tf.evaluate", f"--model_dir={model_dir}",
                  "--num_samples=200", "--metrics=fid,prd,memorization", RP)
    assert result.returncode == 0, result.stderr[-3000:]
    entries = _entries(model_dir)
    reported = {e["metric"]: e for e in entries.values()
                if e["protocol"] == "standard"}
    for entry in reported.values():
        assert entry["num_samples"] == 200 and entry["iteration"] == 2
        assert entry["split"] == "test"
        assert entry["features"].startswith("random_projection")
        assert np.isfinite(entry["value"])
    # N < 10,000: KID beside every FID.
    assert {"fid/generation", "fid/reconstruction", "kid/generation",
            "kid/reconstruction", "prd/precision"} <= set(reported)
    # The feature space is named as it is, not as the default features.
    assert {f"memorization/{space}/{p}" for space in ("pixel",
                                                      "random_projection")
            for p in model_metrics.MEMORIZATION_PAIRS} <= set(reported)
    selection = [e for e in entries.values()
                 if e["protocol"] == "standard/selection"]
    assert selection and all(e["split"] == "validation" for e in selection)
    assert 0 <= reported["prd/precision"]["value"] <= 1
    # An untrained-ish model's samples are far from real digits.
    assert (reported["memorization/pixel/Gen-Tr"]["value"]
            > reported["memorization/pixel/Tr-Tr"]["value"] > 0)
    images = os.listdir(os.path.join(model_dir, "eval", "images"))
    for name in ("eval_interpolations_2.png", "eval_samples_2.png",
                 "nearest_neighbours_pixel_2.png",
                 "nearest_neighbours_random_projection_2.png", "prd_2.png"):
        assert name in images
    tags = set()
    for path in glob.glob(os.path.join(model_dir, "eval", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {value.tag for value in event.summary.value}
    assert {"eval_standard/fid/generation", "eval_standard/kid/generation",
            "eval_standard/prd/recall"} <= tags


def test_results_are_merged_never_lost(model_dir):
    """Issue 12 item 6: fewer metrics, another N, another protocol.

    In this process, by the library call the command makes (the command
    itself is run above): three more TensorFlow processes would cost
    seconds of import each and test nothing the merge depends on.
    """
    for protocol, metrics in (("standard", ["fid", "prd"]),
                              ("standard", ["fid"]),
                              ("authors", ["fid", "prd"])):
        try:
            evaluation_run.evaluate_run(
                model_dir, protocol, 150, metrics,
                gin_bindings=["run_protocol.features='random_projection'"])
        finally:
            gin.clear_config()  # The run's config, loaded with the model.
    entries = list(_entries(model_dir).values())
    at_150 = {(e["protocol"], e["metric"]) for e in entries
              if e["num_samples"] == 150}
    assert ("standard", "prd/recall") in at_150  # Kept by the fid-only run.
    assert ("authors", "fid/generation") in at_150


# The command for the two ways a bad input reaches the user: absl's flag
# parser (a bad enum) and an error of the library call, printed as one
# line by main. The other bad inputs take the second path, so they are
# checked in this process by that call, as the merge test above does.
@pytest.mark.parametrize("args,message", [
    (["--model_dir=/nonexistent/run"], "not a trained model directory"),
    (["--protocol=best"], "protocol"),
])
def test_bad_input_is_one_clear_error(model_dir, args, message):
    if not args[0].startswith("--model_dir"):
        args = [f"--model_dir={model_dir}"] + args
    result = _run("flexae_tf.evaluate", "--num_samples=50", *args)
    assert result.returncode == 2, result.stderr[-2000:]
    error = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(error) == 1 and message in error[0], result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == error[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("num_samples,metrics,min_iteration,message", [
    (50, ["fid", "bogus"], 0, "Unknown metrics"),
    (0, ["fid"], 0, "num_samples=0"),
    (50, ["fid"], 99, "No checkpoint at iteration >= 99"),
])
def test_bad_arguments_are_one_line_errors(model_dir, num_samples, metrics,
                                           min_iteration, message):
    assert message in helpers.first_error_line(
        lambda: evaluation_run.evaluate_run(model_dir, "standard",
                                            num_samples, metrics,
                                            min_iteration),
        evaluation_run.BAD_INPUT_ERRORS)


def test_missing_fid_weights_file_is_one_line(model_dir):
    env = dict(os.environ, FLEXAE_FID_WEIGHTS="/nonexistent/weights.npz")
    result = subprocess.run(
        [sys.executable, "-m", "flexae_tf.evaluate",
         f"--model_dir={model_dir}", "--num_samples=50"],
        cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=600,
        env=env)
    assert result.returncode == 2
    assert "FID Inception weights not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_inception_memorization_and_prd_on_real_features(model_dir):
    model, _, dataset = checkpoints.load_trained(model_dir)
    results = model_metrics.evaluate(model, dataset,
                                  metrics=("prd", "memorization"),
                                  num_samples=24, batch_size=24)
    scores = results["memorization"]["inception"]
    assert results["features"].startswith("fid_inception")
    # Real training images are closer to other real images than the
    # barely trained model's samples are, in Inception space too.
    assert scores["Gen-Tr"] > scores["Tr-Tr"] > 0
    assert set(results["prd"]) == {"precision", "recall"}


def test_samples_are_reproducible_for_a_seed(model_dir):
    model, _, _ = checkpoints.load_trained(model_dir)
    a = samples.generate(model, 10, 4, seed=3)
    np.testing.assert_array_equal(a, samples.generate(model, 10, 4, 3))
    assert not np.array_equal(a, samples.generate(model, 10, 4, 4))
