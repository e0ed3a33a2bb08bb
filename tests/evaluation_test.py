"""The evaluate command and library on a tiny trained model."""

import glob
import json
import os
import subprocess
import sys

import flexae_tf  # pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf import checkpoints
from flexae_tf.metrics import model_metrics
from flexae_tf import paths

pytestmark = pytest.mark.skipif(
    not os.path.isdir(os.path.join(paths.default_data_dir(), "mnist")),
    reason="../shared/datasets/mnist is absent")


def _run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args],
                          cwd=paths.REPO_ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("eval") / "run")
    result = _run("flexae_tf.main", "--gin_file=gin/tiny.gin",
                  f"--model_dir={path}", "--gin_param=train.num_iterations=2")
    assert result.returncode == 0, result.stderr[-3000:]
    return path


def test_evaluate_command_writes_results_summaries_and_grids(model_dir):
    result = _run("flexae_tf.evaluate", f"--model_dir={model_dir}",
                  "--num_samples=200", "--metrics=fid,prd,memorization",
                  "--gin_param=evaluate.features='random_projection'")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(model_dir, "eval", "results_2_n200.json")) as f:
        results = json.load(f)
    assert results["num_samples"] == 200 and results["iteration"] == 2
    assert results["features"].startswith("random_projection")
    for value in model_metrics.flatten(results).values():
        assert np.isfinite(value)
    assert set(results["memorization"]["pixel"]) == set(
        model_metrics.MEMORIZATION_PAIRS)
    assert 0 <= results["prd"]["precision"] <= 1
    # An untrained-ish model's samples are far from real digits; its
    # reconstructions are not closer to the data than real images are.
    pixel = results["memorization"]["pixel"]
    assert pixel["Gen-Tr"] > pixel["Tr-Tr"] > 0
    images = os.listdir(os.path.join(model_dir, "eval", "images"))
    for name in ("eval_interpolations_2.png", "eval_samples_2.png",
                 "nearest_neighbours_pixel_2.png"):
        assert name in images
    tags = set()
    for path in glob.glob(os.path.join(model_dir, "eval", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {value.tag for value in event.summary.value}
    assert {"eval/fid/generation", "eval/fid/reconstruction",
            "eval/prd/recall", "eval/memorization/pixel/Gen-Tr"} <= tags


@pytest.mark.parametrize("args,message", [
    (["--model_dir=/nonexistent/run"], "not a trained model directory"),
    (["--metrics=fid,bogus"], "Unknown metrics"),
])
def test_bad_input_is_one_clear_error(model_dir, args, message):
    if not args[0].startswith("--model_dir"):
        args = [f"--model_dir={model_dir}"] + args
    result = _run("flexae_tf.evaluate", "--num_samples=50", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


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
    a = model_metrics.generate(model, 10, 4, seed=3)
    np.testing.assert_array_equal(a, model_metrics.generate(model, 10, 4, 3))
    assert not np.array_equal(a, model_metrics.generate(model, 10, 4, 4))
