"""The experiment suites by name, and how one is run into its directory."""

import inspect
import os

from absl import logging

from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.experiments import baselines
from flexae_tf.experiments import beta_sweep
from flexae_tf.experiments import bn_statistics
from flexae_tf.experiments import latent_2d
from flexae_tf.experiments import latent_dim
from flexae_tf.experiments import memorization
from flexae_tf.experiments import seeds as seeds_lib
from flexae_tf.experiments import synthetic_suites

SUITES = {
    "synthetic_dim": synthetic_suites.synthetic_dim,
    "synthetic_mog": synthetic_suites.synthetic_mog,
    "latent_dim": latent_dim.latent_dim,
    "baselines": baselines.baselines,
    "memorization": memorization.memorization,
    "beta_sweep": beta_sweep.beta_sweep,
    "latent_2d": latent_2d.latent_2d,
    "bn_statistics": bn_statistics.bn_statistics,
}
PAPER_BUDGET = "gin/experiments/paper_budget.gin"


def run_suite(suite, out, gin_files=(), gin_bindings=(), iterations=None,
              num_samples=None, paper_budget=False, seeds=None, **overrides):
    """Runs one suite into <out>/<suite>/ and returns what it returns.

    With `seeds`, the suite runs once per seed into <out>/<suite>/seed_<s>/
    (`seed_bindings`), and <out>/<suite>/ gets the summary over seeds
    (`seeds.seed_summary`); the return value is then {seed: what the
    suite returned}.

    Args:
      suite: a SUITES key.
      out: output directory.
      gin_files, gin_bindings: applied after the suite's own sheets (and
        to every model an image suite trains).
      iterations, num_samples: override the suite's budget.
      paper_budget: apply PAPER_BUDGET first.
      seeds: None, or the seeds to run.
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
    out_dir = os.path.join(out, suite)
    if seeds is None:
        return _run(suite, out_dir, files, bindings, overrides)
    seeds = [int(seed) for seed in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise errors.UserError(f"--seeds={seeds}: give distinct seeds.")
    results, seed_dirs = {}, {}
    for seed in seeds:
        seed_dirs[seed] = os.path.join(out_dir, f"seed_{seed}")
        results[seed] = _run(suite, seed_dirs[seed], files,
                             bindings + seed_bindings(suite, seed), overrides)
    seeds_lib.seed_summary(suite, out_dir, seed_dirs,
                           f"{suite}: {len(seeds)} seeds")
    return results


def seed_bindings(suite, seed):
    """Gin bindings giving one run of `suite` the seed `seed`.

    The synthetic suites take a `seed` (data, weights and noise). The image
    suites train every model through `train_lib.train`, which reads
    `train.seed` (initial weights, data order) and `make_model.seed` (the
    model's training noise).
    """
    if "seed" in inspect.signature(SUITES[suite]).parameters:
        return [f"{suite}.seed = {seed}"]
    return [f"train.seed = {seed}", f"make_model.seed = {seed}"]


def _run(suite, out_dir, files, bindings, overrides):
    # The suite reads its budget from this config before it re-parses one
    # per model (its own sheets first, then these files and bindings).
    cli.load_gin(files, bindings)
    logging.info("Running suite %s into %s", suite, out_dir)
    return SUITES[suite](out_dir=out_dir, gin_files=files,
                         gin_bindings=bindings, **overrides)


