"""Evaluation checkpoints and the two evaluation protocols.

Evaluation checkpoints are inference-only snapshots (encoder, decoder,
P-GEN, iteration) written every `interval` iterations over the last
`window` of training to `<model_dir>/eval_checkpoints/ckpt-<iteration>`,
apart from the resume checkpoints (which keep only the newest few) and
never deleted. `python -m flexae_tf.evaluate` scores them under one of
two protocols:

- `standard` (default): choose the checkpoint with the lowest generation
  FID against the VALIDATION split (training images held out from
  training, `data.load_images`); report that checkpoint's test-set
  reconstruction / generation FID (KID below N = 10,000), precision /
  recall, and the validation FID it was chosen by. The test set never
  influences the choice.
- `authors`: FlexAE's published protocol, for comparison with its tables
  only: every generated image and reconstruction is min-max rescaled per
  image, each checkpoint is scored on the TEST set, and the minimum over
  the window is reported (per metric, each at its own checkpoint). It
  selects on the test set, so it is optimistic; it is labelled as such in
  every result.
"""

import os
import re

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from flexae_tf.storage import checkpoints
from flexae_tf.data import datasets as data
from flexae_tf.core import errors
from flexae_tf.metrics import fid
from flexae_tf.evaluation import model_metrics
from flexae_tf.evaluation import results as results_store

EVAL_CHECKPOINT_DIR = "eval_checkpoints"
PROTOCOLS = ("standard", "authors")
_PREFIX = re.compile(r"ckpt-(\d+)$")


def _inference_checkpoint(model):
    return tf.train.Checkpoint(**model.trackables(inference_only=True))


@gin.configurable(denylist=["model_dir", "num_iterations"])
class EvaluationCheckpoints(keras.callbacks.Callback):
    """Keras callback keeping evaluation checkpoints over a window.

    Add it to `Model.fit`'s callbacks (the trainer passes its model_dir,
    the chief's output directory, and train.num_iterations). It reads
    `model.iteration` after each batch and saves at every multiple of
    `interval` inside the window and at the last iteration.
    """

    def __init__(self, model_dir, num_iterations, interval=2000,
                 window=0.4):
        """Args:
          model_dir: the run's directory (checkpoints go to
            `<model_dir>/eval_checkpoints/`).
          num_iterations: the run's total iterations.
          interval: iterations between evaluation checkpoints.
          window: fraction of training, at its end, that is kept: 0.4
            keeps iterations >= 0.6 * num_iterations (the authors kept
            80k..130k of 130k, about 0.38).
        """
        super().__init__()
        errors.check_positive("EvaluationCheckpoints.", interval=interval,
                              num_iterations=num_iterations)
        if not 0.0 < window <= 1.0:
            raise errors.UserError(
                f"EvaluationCheckpoints.window={window!r}: must be in "
                "(0, 1].")
        self.directory = os.path.join(model_dir, EVAL_CHECKPOINT_DIR)
        self.num_iterations = num_iterations
        self.interval = interval
        self.start = int(np.ceil((1.0 - window) * num_iterations))

    def due(self, iteration):
        """Whether `iteration` gets an evaluation checkpoint."""
        return iteration >= self.start and (
            iteration % self.interval == 0 or
            iteration == self.num_iterations)

    def on_train_batch_end(self, batch, logs=None):
        del batch, logs  # The iteration counter is the model's.
        iteration = int(self.model.iteration.numpy())
        if self.due(iteration):
            self.save(iteration)

    def save(self, iteration):
        """Writes ckpt-<iteration> (index last, so a crash leaves none)."""
        final = os.path.join(self.directory, f"ckpt-{iteration}")
        if tf.io.gfile.exists(final + ".index"):
            return final
        tf.io.gfile.makedirs(self.directory)
        temp = os.path.join(self.directory, f"temp-{iteration}")
        _inference_checkpoint(self.model).write(temp)
        for path in sorted(tf.io.gfile.glob(temp + ".*"),
                           key=lambda p: p.endswith(".index")):
            tf.io.gfile.rename(path, final + path[len(temp):],
                               overwrite=True)
        logging.info("Evaluation checkpoint %s", final)
        return final


def list_checkpoints(model_dir, min_iteration=0):
    """[(iteration, prefix)] to evaluate, oldest first.

    The evaluation checkpoints when there are any; otherwise the resume
    checkpoints still on disk (with a warning: they are only the newest
    few, not a window).
    """
    directory = os.path.join(model_dir, EVAL_CHECKPOINT_DIR)
    found = []
    for index in tf.io.gfile.glob(os.path.join(directory, "ckpt-*.index")):
        match = _PREFIX.search(index[:-len(".index")])
        if match:
            found.append((int(match.group(1)), index[:-len(".index")]))
    if not found:
        state = tf.train.get_checkpoint_state(
            os.path.join(model_dir, checkpoints.CHECKPOINT_DIR))
        for prefix in (state.all_model_checkpoint_paths if state else []):
            match = re.search(r"-(\d+)$", prefix)
            if match and tf.io.gfile.exists(prefix + ".index"):
                found.append((int(match.group(1)), prefix))
        if found:
            logging.warning(
                "No evaluation checkpoints in %s (add the "
                "selection.EvaluationCheckpoints callback when training); "
                "using the %d resume checkpoints instead.", directory,
                len(found))
    found = sorted(p for p in found if p[0] >= min_iteration)
    if not found:
        raise checkpoints.CheckpointError(
            f"No checkpoint at iteration >= {min_iteration} in {model_dir}.")
    return found


def restore(model, prefix):
    """Loads the inference networks of checkpoint `prefix` into `model`.

    prefix None: the model is evaluated as loaded (a `.keras` file).
    """
    if prefix is None:
        return int(model.iteration.numpy())
    # read() is write()'s counterpart: no save counter to match.
    status = _inference_checkpoint(model).read(prefix)
    status.assert_existing_objects_matched().expect_partial()
    return int(model.iteration.numpy())


def _validation_scores(model, dataset, candidates, num_samples, feature_fn,
                       batch_size, seed):
    """{iteration: {"fid", "kid", ...}} of generation vs validation."""
    real = model_metrics.real_images(dataset, "validation", num_samples)
    featurize = lambda x: fid.collect_features(x, feature_fn, len(x),
                                               batch_size)
    real_features = featurize(real)
    real_stats = fid.activation_statistics(real_features)
    scores = {}
    for iteration, prefix in candidates:
        restore(model, prefix)
        generated = model_metrics.generate(model, num_samples, batch_size,
                                           seed)
        scores[iteration] = model_metrics.distances(
            featurize(generated), real_features, real_stats)
        logging.info("Validation FID at iteration %d (N=%d): %.3f",
                     iteration, num_samples, scores[iteration]["fid"])
    return scores


@gin.configurable(denylist=["model", "dataset", "candidates", "protocol",
                            "metrics", "num_samples", "out_dir"])
def run_protocol(model, dataset, candidates, protocol, metrics,
                 num_samples, out_dir=None, features="inception",
                 batch_size=250, seed=0, feature_fn=None):
    """Scores the candidate checkpoints under `protocol`.

    Args:
      model: a built model of the run's configuration.
      dataset: dataset name.
      candidates: [(iteration, prefix)], e.g. `list_checkpoints`.
      protocol: "standard" or "authors" (see the module docstring).
      metrics: model_metrics.METRICS to report.
      num_samples: N of the reported numbers (the validation N is
        min(N, validation images)).
      out_dir: where pictures go.
      features: "inception" or "random_projection" (smoke runs).
      batch_size: images per model / feature call.
      seed: seed of the generated samples.
      feature_fn: overrides `features` (tests).

    Returns:
      (summary dict, [result entries for `results.merge`]).
    """
    if protocol not in PROTOCOLS:
        raise errors.UserError(f"Unknown protocol {protocol!r}; use one of "
                               f"{PROTOCOLS}.")
    model_metrics.check_num_samples(num_samples)
    feature_fn = feature_fn or model_metrics.feature_network(features)
    kwargs = dict(batch_size=batch_size, feature_fn=feature_fn, seed=seed)
    window = [it for it, _ in candidates]
    if protocol == "standard":
        _, validation_count = data.load_images(dataset, "validation")
        n_val = min(num_samples, validation_count)
        scores = _validation_scores(model, dataset, candidates, n_val,
                                    feature_fn, batch_size, seed)
        best = min(scores, key=lambda it: scores[it]["fid"])
        restore(model, dict(candidates)[best])
        results = model_metrics.evaluate(
            model, dataset, metrics, num_samples, out_dir=out_dir,
            step=best, split="test", **kwargs)
        results.update(protocol="standard", iteration=best,
                       selected_by={"split": "validation",
                                    "num_samples": n_val,
                                    "metric": "fid/generation",
                                    **scores[best],
                                    "window": window})
        entries = results_store.entries_from(
            {k: v for k, v in results.items() if k != "selected_by"},
            protocol="standard", iteration=best)
        for iteration, score in scores.items():
            for name, value in score.items():
                if value is not None:
                    entries.append(dict(
                        protocol="standard/selection", iteration=iteration,
                        split="validation", num_samples=n_val,
                        features=results["features"],
                        metric=f"{name}/generation", value=value))
        return results, entries
    per_checkpoint = {}
    for iteration, prefix in candidates:
        restore(model, prefix)
        per_checkpoint[iteration] = model_metrics.evaluate(
            model, dataset, ("fid",), num_samples, out_dir=None,
            step=iteration, split="test", rescale=True, **kwargs)
    first = per_checkpoint[window[0]]
    summary = {"protocol": "authors", "num_samples": num_samples,
               "split": "test", "features": first["features"],
               "note": ("min over the window of TEST-set FIDs of min-max "
                        "rescaled images (FlexAE's published protocol); "
                        "selected on the test set, so optimistic"),
               "window": window, "fid": {}, "argmin_iteration": {}}
    entries = []
    for name in ("generation", "reconstruction"):
        values = {it: r["fid"][name] for it, r in per_checkpoint.items()}
        best = min(values, key=values.get)
        summary["fid"][name] = values[best]
        summary["argmin_iteration"][name] = best
        entries.append(dict(
            protocol="authors",
            iteration=f"min[{window[0]}..{window[-1]}]x{len(window)}",
            split="test",
            num_samples=num_samples, features=first["features"],
            metric=f"fid/{name}", value=values[best], argmin_iteration=best))
        entries += [dict(protocol="authors/per_checkpoint", iteration=it,
                         split="test", num_samples=num_samples,
                         features=first["features"], metric=f"fid/{name}",
                         value=v) for it, v in values.items()]
    return summary, entries
