r"""Runs the paper's experiment suites and writes their reports.

  python -m flexae_tf.experiments --suite=synthetic_dim \
      [--out=runs/experiments] [--iterations=N] [--num_samples=N] \
      [--paper_budget] [--seeds=0,1,2] [--gin_file=...] [--gin_param=...]

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

from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.experiments import runner

FLAGS = flags.FLAGS
flags.DEFINE_string("suite", None, f"One of {', '.join(runner.SUITES)}.")
# Under runs/ (git-ignored) so a suite never writes into the committed
# results/, whose reports were measured once and are read by the docs.
flags.DEFINE_string("out", os.path.join("runs", "experiments"),
                    "Output directory; the suite writes <out>/<suite>/.")
flags.DEFINE_integer("iterations", None, "Iterations per model (default: "
                     "the suite's CPU budget).")
flags.DEFINE_integer("num_samples", None, "Sample count N of every metric.")
flags.DEFINE_bool("paper_budget", False, f"Apply {runner.PAPER_BUDGET}.")
flags.DEFINE_list("seeds", None, "Run the suite once per seed into "
                  "<out>/<suite>/seed_<s>/ and summarise mean +- sd over "
                  "them in <out>/<suite>/.")
flags.DEFINE_multi_string("gin_file", [], "Extra gin files, in order.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings.")


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}; use --suite, --out and "
                 "the budget flags.")
    try:
        if FLAGS.suite is None:
            raise errors.UserError(f"No --suite given; choose one of "
                                   f"{', '.join(runner.SUITES)}.")
        runner.run_suite(FLAGS.suite, FLAGS.out, FLAGS.gin_file,
                         FLAGS.gin_param, FLAGS.iterations,
                         FLAGS.num_samples, FLAGS.paper_budget,
                         seeds=_seeds(FLAGS.seeds))
    except errors.UserError as e:
        cli.fail(e)
    logging.info("Report: %s", os.path.join(FLAGS.out, FLAGS.suite,
                                            "report.md"))


def _seeds(values):
    if values is None:
        return None
    try:
        return [int(v) for v in values]
    except ValueError:
        raise errors.UserError(
            f"--seeds={','.join(values)}: give integers, e.g. "
            "--seeds=0,1,2.") from None


def run():
    """Console-script entry point (pyproject.toml)."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
