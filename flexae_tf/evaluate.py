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

from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.evaluation import model_metrics
from flexae_tf.evaluation import run as evaluation_run
from flexae_tf.evaluation import selection

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


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}.")
    if not FLAGS.model_dir:
        cli.fail("--model_dir is required (a directory written by "
                 "python -m flexae_tf.main).")
    try:
        summary, path = evaluation_run.evaluate_run(
            FLAGS.model_dir, FLAGS.protocol, FLAGS.num_samples, FLAGS.metrics,
            FLAGS.min_iteration, FLAGS.gin_param, FLAGS.attribute_grids)
    except evaluation_run.BAD_INPUT_ERRORS as e:
        cli.fail(errors.first_line(e))
    logging.info("Results merged into %s", path)
    print(json.dumps(summary, indent=2, sort_keys=True, default=str))


def run():
    """Console-script entry point (pyproject.toml)."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
