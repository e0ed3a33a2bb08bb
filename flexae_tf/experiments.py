r"""Runs the paper's experiment suites and writes their reports.

  python -m flexae_tf.experiments --suite=synthetic_dim --out=results \
      [--iterations=N] [--num_samples=N] [--paper_budget] \
      [--gin_file=...] [--gin_param=...]

Suites: synthetic_dim (Fig. 2), synthetic_mog (Fig. 3), latent_dim
(Table 3), baselines (Tables 1, 2), memorization (Table 4). Each writes
`<out>/<suite>/report.md`, `results.csv` and PNG plots; every number states
its iterations and sample count N. The default budget of each suite runs
in about an hour on a 2-core CPU; --paper_budget applies
gin/experiments/paper_budget.gin (130k iterations, N = 10,000, Inception).
Gin bindings set anything else, e.g. --gin_param='baselines.datasets =
("mnist",)'. Rerunning resumes: finished image models are reused.
"""

import os
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

from flexae_tf import cli
from flexae_tf import errors
from flexae_tf import experiments_images
from flexae_tf import experiments_synthetic

SUITES = {
    "synthetic_dim": experiments_synthetic.synthetic_dim,
    "synthetic_mog": experiments_synthetic.synthetic_mog,
    "latent_dim": experiments_images.latent_dim,
    "baselines": experiments_images.baselines,
    "memorization": experiments_images.memorization,
}
PAPER_BUDGET = "gin/experiments/paper_budget.gin"

FLAGS = flags.FLAGS
flags.DEFINE_string("suite", None, f"One of {', '.join(SUITES)}.")
flags.DEFINE_string("out", "experiments", "Output directory; the suite "
                    "writes <out>/<suite>/.")
flags.DEFINE_integer("iterations", None, "Iterations per model (default: "
                     "the suite's CPU budget).")
flags.DEFINE_integer("num_samples", None, "Sample count N of every metric.")
flags.DEFINE_bool("paper_budget", False, f"Apply {PAPER_BUDGET}.")
flags.DEFINE_multi_string("gin_file", [], "Extra gin files, in order.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings.")


def run_suite(suite, out, gin_files=(), gin_bindings=(), iterations=None,
              num_samples=None, paper_budget=False, **overrides):
    """Runs one suite into <out>/<suite>/ and returns what it returns.

    Args:
      suite: a SUITES key.
      out: output directory.
      gin_files, gin_bindings: applied after the suite's own sheets (and
        to every model an image suite trains).
      iterations, num_samples: override the suite's budget.
      paper_budget: apply PAPER_BUDGET first.
      **overrides: keyword arguments of the suite function (tests pass
        e.g. evaluate_fn).

    Raises:
      errors.UserError: unknown suite, bad budget or gin configuration.
    """
    if suite not in SUITES:
        raise errors.UserError(f"Unknown suite {suite!r}; choose one of "
                               f"{', '.join(SUITES)}.")
    files = ([PAPER_BUDGET] if paper_budget else []) + list(gin_files)
    bindings = list(gin_bindings)
    for name, value in (("num_iterations", iterations),
                        ("num_samples", num_samples)):
        if value is not None:
            bindings.append(f"{suite}.{name} = {int(value)}")
    # The suite reads its budget from this config before it re-parses one
    # per model (its own sheets first, then these files and bindings).
    cli.load_gin(files, bindings)
    out_dir = os.path.join(out, suite)
    logging.info("Running suite %s into %s", suite, out_dir)
    return SUITES[suite](out_dir=out_dir, gin_files=files,
                         gin_bindings=bindings, **overrides)


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}; use --suite, --out and "
                 "the budget flags.")
    try:
        if FLAGS.suite is None:
            raise errors.UserError(f"No --suite given; choose one of "
                                   f"{', '.join(SUITES)}.")
        run_suite(FLAGS.suite, FLAGS.out, FLAGS.gin_file, FLAGS.gin_param,
                  FLAGS.iterations, FLAGS.num_samples, FLAGS.paper_budget)
    except errors.UserError as e:
        cli.fail(e)
    logging.info("Report: %s", os.path.join(FLAGS.out, FLAGS.suite,
                                            "report.md"))


if __name__ == "__main__":
    app.run(main)
