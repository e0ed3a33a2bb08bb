"""Training, evaluating and timing one model of an image suite.

Each model is trained by `train_lib.train` in its own model_dir under
`<out>/<suite>/models/`, configured by gin sheets: the dataset sheet, the
model sheet, the budget's network sheet, then the user's files and
bindings. Rerunning a suite resumes unfinished models, reuses finished
ones (train() returns at once) and reuses evaluations cached in the
model_dir for the same iteration, N, metrics and features.
"""

import json
import os
import time

from absl import logging
import gin
import numpy as np

from flexae_tf.core import cli
from flexae_tf.core import events
from flexae_tf.core import files
from flexae_tf.data import datasets as data
from flexae_tf.evaluation import selection
from flexae_tf.experiments import sheets
from flexae_tf.metrics import codes as code_metrics
from flexae_tf.storage import checkpoints
from flexae_tf.storage import eval_checkpoints
from flexae_tf.training import train_lib

_CACHE = "experiment_evaluations.json"
_TRAIN_TIME = "experiment_train_seconds.json"


def slug(text):
    """A directory name for a display name: "FP-VAE" -> "fp_vae"."""
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def model_dir(out_dir, name):
    """<out_dir>/models/<slug of name>: where a suite trains a model."""
    return os.path.join(out_dir, "models", slug(name))


def train_model(directory, dataset, model_name, budget, bindings=()):
    """Configures gin for one model, trains (or resumes) it in directory.

    Returns:
      (model, seconds spent in train()).
    """
    n = budget.num_iterations
    interval = min(n, 1000)
    gin_files = [sheets.DATASET_SHEETS[dataset],
                 sheets.MODEL_SHEETS[model_name]]
    gin_files += [budget.network_sheet] if budget.network_sheet else []
    cli.load_gin(gin_files + list(budget.gin_files), [
        f"train.num_iterations = {n}", f"train.batch_size = "
        f"{budget.batch_size}", f"train.log_interval = {min(n, 50)}",
        f"train.image_interval = {interval}",
        f"train.checkpoint_interval = {interval}"] + budget.curve_bindings()
        + budget.selection_bindings() + budget.schedule_bindings(model_name)
        + list(bindings)
        + list(budget.gin_bindings))
    logging.info("Training %s on %s in %s", model_name, dataset, directory)
    start = time.time()
    model = train_lib.train(directory)
    return model, time.time() - start


def learning_curve(directory, budget):
    """{iteration: generation FD} of the periodic evaluations, or {}.

    Models trained with `train.eval_interval` > 0 (the budget's
    `curve_interval`, or the user's bindings) log a FID in the trainer's
    projection space as they train (`budget.curve_label`): the suite's
    learning curve when its N is the suite's.
    """
    train = gin.get_bindings("train")
    if not train.get("eval_interval"):
        return {}
    features = train.get("eval_features", "inception")
    if (features != "random_projection"
            or train.get("eval_num_samples", 10000) != budget.num_samples):
        logging.warning(
            "No learning curve in %s: train.eval_features=%r, "
            "eval_num_samples=%s; the suites' curves are %s at N = %d.",
            directory, features, train.get("eval_num_samples"),
            budget.curve_label, budget.num_samples)
        return {}
    return events.read_scalars(os.path.join(directory, "train"),
                               "eval/fid/generation")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, int)):
        return int(value)
    return float(value) if isinstance(value, (np.floating, float)) else value


def _cached(path, key, compute):
    """compute() -> dict, memoised in the JSON file `path` under `key`."""
    cache = {}
    if os.path.exists(path):
        with open(path) as f:
            cache = json.load(f)
        if key in cache:
            logging.info("Reusing the results cached in %s", path)
            return cache[key]
    cache[key] = _jsonable(compute())
    files.write_atomically(path, json.dumps(cache, indent=1))
    return cache[key]


def select_checkpoint(model, directory, dataset, budget):
    """Restores the evaluation checkpoint with the lowest validation
    generation FD in `budget.selection_features`.

    The test split never takes part in the choice. Scores are cached in
    the model_dir like the evaluations.

    Returns:
      {"iteration": chosen, "scores": {iteration: validation FD}, "split",
       "num_samples", "features"}.

    Raises:
      checkpoints.CheckpointError: no checkpoint to choose from (without
        evaluation checkpoints, the resume checkpoints on disk are the
        candidates, with a warning).
    """
    candidates = eval_checkpoints.list_checkpoints(directory)
    _, validation_count = data.load_images(dataset, "validation")
    n = min(budget.num_samples, validation_count)
    features = budget.selection_features

    def compute():
        skipped = {}
        scores = selection.validation_scores(model, dataset, candidates, n,
                                             features, 250, 0, skipped)
        return {"scores": {str(it): s["fid"] for it, s in scores.items()},
                "skipped": skipped}

    key = json.dumps(["selection", [it for it, _ in candidates], n,
                      features.protocol])
    chosen = _cached(os.path.join(directory, _CACHE), key, compute)
    scores = {int(it): v for it, v in chosen["scores"].items()}
    best = min(scores, key=scores.get)
    eval_checkpoints.restore(model, dict(candidates)[best])
    return {"iteration": best, "scores": scores, "split": "validation",
            "num_samples": n, "features": features.protocol}


def evaluate_model(model, directory, dataset, metrics, budget):
    """The budget's evaluation + NAC, cached per (iteration, N, ...)."""
    iteration = int(model.iteration.numpy())

    def compute():
        results = budget.evaluate(
            model, dataset, metrics=tuple(metrics),
            num_samples=budget.num_samples, batch_size=250,
            feature_fn=budget.feature_fn)
        codes = np.concatenate([
            model.encode(b).numpy() for b in data.eval_batches(
                dataset, "test", 250, num_images=budget.num_samples)])
        nac, dims = code_metrics.nac(codes)
        return dict(results, iteration=iteration, nac=nac,
                    nac_dimensions=dims)

    key = json.dumps([iteration, budget.num_samples, sorted(metrics),
                      budget.protocol])
    return _cached(os.path.join(directory, _CACHE), key, compute)


def training_seconds(directory, seconds, trained):
    """Wall time the model has spent in training, over every suite run.

    A rerun that reuses the finished model adds nothing, so the reports
    keep the real training time. A model trained before this record
    existed gets the span of its training events.
    """
    path = os.path.join(directory, _TRAIN_TIME)
    if os.path.exists(path):
        with open(path) as f:
            total = json.load(f)["seconds"] + (seconds if trained else 0.0)
    else:
        total = seconds if trained else events.event_span(
            os.path.join(directory, "train"))
    files.write_atomically(path, json.dumps({"seconds": total}))
    return total


def run_model(out_dir, dataset, model_name, budget, metrics, tag="",
              bindings=()):
    """Trains and evaluates one model; returns its results dict."""
    directory = model_dir(out_dir, f"{dataset}_{model_name}{tag}")
    before = (checkpoints.latest(directory) if os.path.isdir(directory)
              else None)
    model, seconds = train_model(directory, dataset, model_name, budget,
                                 bindings)
    trained = checkpoints.latest(directory) != before
    selected = (select_checkpoint(model, directory, dataset, budget)
                if budget.select_on_validation else None)
    results = evaluate_model(model, directory, dataset, metrics, budget)
    if selected:
        results["selected_by"] = selected
    results["train_seconds"] = training_seconds(directory, seconds, trained)
    results["model_dir"] = directory
    results["curve"] = learning_curve(directory, budget)
    results["schedules"] = model.budget_schedules()
    logging.info("%s %s%s: %s", dataset, model_name, tag, {
        k: v for k, v in results.items() if k in ("fid", "kid", "prd", "nac")})
    return results
