"""The experiment suites by name, and how one is run into its directory."""

import os

from absl import logging

from flexae_tf import cli
from flexae_tf import errors
from flexae_tf.experiments import beta_sweep
from flexae_tf.experiments import image_suites
from flexae_tf.experiments import latent_2d
from flexae_tf.experiments import synthetic_suites

SUITES = {
    "synthetic_dim": synthetic_suites.synthetic_dim,
    "synthetic_mog": synthetic_suites.synthetic_mog,
    "latent_dim": image_suites.latent_dim,
    "baselines": image_suites.baselines,
    "memorization": image_suites.memorization,
    "beta_sweep": beta_sweep.beta_sweep,
    "latent_2d": latent_2d.latent_2d,
}
PAPER_BUDGET = "gin/experiments/paper_budget.gin"


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


