r"""Evaluates a training run under an explicit protocol.

  python -m flexae_tf.evaluate --model_dir=runs/mnist \
      [--protocol=standard|authors] [--num_samples=10000] \
      [--metrics=fid,prd,memorization] [--min_iteration=0] \
      [--attribute_grids] \
      [--gin_param='run_protocol.features="random_projection"']

--model_dir may also be a `.keras` file (`<run>/model.keras`): that one
model is the only candidate, and results go to `eval/` beside it.

Protocols (selection.py): `standard` picks the evaluation checkpoint with
the best generation FID on the validation split and reports its test-set
numbers; `authors` reports the minimum test-set FID over the window after
per-image min-max rescaling (FlexAE's published protocol; optimistic).

Every number is merged into `<model_dir>/eval/results.json`, keyed by
protocol, iteration(s), split, N, feature network and metric, so nothing
computed earlier is lost. TensorBoard scalars and image grids go to
`<model_dir>/eval/`, PNGs to `<model_dir>/eval/images/`.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
import gin
import tensorflow as tf

from flexae_tf.storage import eval_checkpoints
from flexae_tf.storage import artifacts
from flexae_tf.storage import checkpoints
from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.evaluation import selection
from flexae_tf.evaluation import attributes
from flexae_tf.evaluation import model_metrics
from flexae_tf.evaluation import results as results_store

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Training run to evaluate.")
flags.DEFINE_enum("protocol", "standard", selection.PROTOCOLS,
                  "standard: select on validation, report test; authors: "
                  "min test FID over the window of min-max rescaled images.")
flags.DEFINE_integer("num_samples", 10000, "N: images per set.")
flags.DEFINE_integer("min_iteration", 0,
                     "Only checkpoints at or after this iteration.")
flags.DEFINE_list("metrics", ["fid", "prd"],
                  f"Any of {model_metrics.METRICS} (standard protocol; "
                  "authors reports FID only).")
flags.DEFINE_bool("attribute_grids", False,
                  "Also write attribute-direction grids (class or CelebA "
                  "attribute directions) under <eval>/attributes/.")
flags.DEFINE_multi_string("gin_param", [],
                          "Extra bindings, applied after the run's config.")


def evaluate_run(model_dir, protocol, num_samples, metrics, min_iteration=0):
    """Runs `protocol` on model_dir; returns (summary, results path)."""
    model_metrics.check_num_samples(num_samples)
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
        gin.parse_config(FLAGS.gin_param if FLAGS.is_parsed() else [])
    except cli.GIN_ERRORS as e:
        raise errors.UserError(
            f"Bad gin binding: {str(e).strip().splitlines()[0]}") from e
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
    if FLAGS.is_parsed() and FLAGS.attribute_grids:
        # The selected checkpoint is the one still loaded in `model`.
        attributes.write_attribute_grids(
            model, dataset, os.path.join(eval_dir, "attributes"),
            num_images=min(num_samples, 10000))
    return summary, path


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}.")
    if not FLAGS.model_dir:
        cli.fail("--model_dir is required (a directory written by "
                 "python -m flexae_tf.main).")
    try:
        summary, path = evaluate_run(FLAGS.model_dir, FLAGS.protocol,
                                     FLAGS.num_samples, FLAGS.metrics,
                                     FLAGS.min_iteration)
    except (errors.UserError, ValueError, FileNotFoundError) as e:
        cli.fail(e)
    logging.info("Results merged into %s", path)
    print(json.dumps(summary, indent=2, sort_keys=True, default=str))


def run():
    """Console-script entry point (pyproject.toml)."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
