"""Evaluating a training run (or a `.keras` file) under a protocol: the
library behind `python -m flexae_tf.evaluate`, whose module docstring
describes the protocols and what is written where."""

import os

from absl import logging
import gin
import tensorflow as tf

from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.data import datasets as data
from flexae_tf.evaluation import attributes
from flexae_tf.evaluation import model_metrics
from flexae_tf.evaluation import results as results_store
from flexae_tf.evaluation import samples
from flexae_tf.evaluation import selection
from flexae_tf.storage import artifacts
from flexae_tf.storage import checkpoints
from flexae_tf.storage import eval_checkpoints

# What `evaluate_run` raises for bad input (a bad argument, binding, run
# directory or data file); the evaluate command prints one line for each.
BAD_INPUT_ERRORS = (errors.UserError, ValueError, FileNotFoundError)


def evaluate_run(model_dir, protocol, num_samples, metrics, min_iteration=0,
                 gin_bindings=(), attribute_grids=False):
    """Runs `protocol` on model_dir; returns (summary, results path).

    Args:
      model_dir: a training run's directory, or a `.keras` file.
      protocol: one of `selection.PROTOCOLS`.
      num_samples: N of the reported numbers.
      metrics: names from `model_metrics.METRICS`.
      min_iteration: only checkpoints at or after this iteration.
      gin_bindings: applied after the run's own config.
      attribute_grids: also write attribute-direction grids.
    """
    samples.check_num_samples(num_samples)
    unknown = set(metrics) - set(model_metrics.METRICS)
    if unknown:
        raise errors.UserError(f"Unknown metrics {sorted(unknown)}; choose "
                               f"from {model_metrics.METRICS}.")
    if os.path.isfile(model_dir):
        trained = artifacts.load_model_or_run(model_dir, require_dataset=True)
        model, dataset = trained.model, trained.dataset
        candidates = [(trained.iteration, None)]
    else:
        model, _, dataset = checkpoints.load_trained(model_dir)
        candidates = None
    try:
        gin.parse_config(list(gin_bindings))
    except cli.GIN_ERRORS as e:
        raise errors.UserError(
            f"Bad gin binding: {str(e).strip().splitlines()[0]}") from e
    _check_split_sizes(dataset, num_samples)
    if candidates is None:
        candidates = eval_checkpoints.list_checkpoints(model_dir, min_iteration)
    eval_dir = os.path.join(artifacts.run_dir(model_dir), "eval")
    logging.info("Evaluating %s (%s, protocol %s, N=%d) over iterations %s",
                 model_dir, dataset, protocol, num_samples,
                 [it for it, _ in candidates])
    writer = tf.summary.create_file_writer(eval_dir)
    with writer.as_default():
        summary, entries = selection.run_protocol(
            model, dataset, candidates, protocol, tuple(metrics),
            num_samples, out_dir=os.path.join(eval_dir, "images"))
        step = summary.get("iteration", candidates[-1][0])
        for name, value in model_metrics.flatten(summary).items():
            tf.summary.scalar(f"eval_{protocol}/{name}", value, step=step)
    summary.update(dataset=dataset, model_dir=os.path.abspath(model_dir))
    path = os.path.join(eval_dir, results_store.FILE_NAME)
    results_store.merge(path, entries)
    if attribute_grids:
        # The selected checkpoint is the one still loaded in `model`.
        attributes.write_attribute_grids(
            model, dataset, os.path.join(eval_dir, "attributes"),
            num_images=min(num_samples, 10000))
    return summary, path


def _check_split_sizes(dataset, num_samples):
    """N against the test split, before any feature is computed (the
    validation N is min(N, its size); selection.run_protocol)."""
    _, count = data.load_images(dataset, "test")
    if count is not None and num_samples > count:
        raise errors.UserError(
            f"--num_samples={num_samples}: the {dataset} test split has "
            f"{count} images; use --num_samples={count} or fewer.")
