"""`beta_sweep` suite: FID against beta (learned-priors paper, Fig. 3).

"Empirical observations pertaining to learned priors for deep latent
variable models" trains two learned-prior models at beta in
{0, 0.01, 0.1, 1} and plots generation FID against beta (log axis):

- FP-VAE (gin/fp_vae.gin): beta weights the KL to the flow prior,
  annealed linearly from 0 over the first `warmup_fraction` of training;
- AAE with a learned prior (gin/aae_learned_prior.gin): beta weights the
  encoder's adversarial term in the reconstruction objective (FlexAE's
  'joint' lambda mode).

MNIST uses latent size 8 as in the paper (Fashion-MNIST too: ours). The
default budget is the CPU one of the other image suites; --paper_budget
(gin/experiments/paper_budget.gin) sets the paper's networks, iterations,
N and Inception features. beta = 0 is drawn on a symmetric-log axis
(linear below 0.01) so it can share the plot with the others.
"""

import os

import gin

from flexae_tf.core import errors
from flexae_tf.experiments import budget as budget_lib
from flexae_tf.experiments import distances
from flexae_tf.experiments import paired
from flexae_tf.experiments import plots
from flexae_tf.experiments import report as report_lib
from flexae_tf.experiments import sheets
from flexae_tf.experiments import training
from flexae_tf.models import fp_vae

# Model display name: gin binding that sets its beta.
BETA_BINDINGS = {
    "FP-VAE": "FPVAE.beta = {beta}",
    "AAE (learned prior)": "FlexAE.encoder_adversarial_weight = {beta}",
}
# beta = 0 shares the log axis: linear below this.
_LINEAR_BELOW = 0.01


def model_bindings(model, beta, latent_dim, warmup_iterations):
    """Gin bindings of one model of the sweep: its latent size and beta."""
    bindings = [f"LATENT_DIM = {latent_dim}",
                BETA_BINDINGS[model].format(beta=float(beta))]
    if model == "FP-VAE":
        bindings.append(f"FPVAE.warmup_iterations = {warmup_iterations}")
    return bindings


@gin.configurable(denylist=budget_lib.IMAGE_RUNNER_ARGS)
def beta_sweep(out_dir, gin_files=(), gin_bindings=(),
               datasets=("mnist", "fashion_mnist"),
               models=tuple(BETA_BINDINGS), betas=(0.0, 0.01, 0.1, 1.0),
               latent_dim=8,
               warmup_fraction=(fp_vae.PAPER_WARMUP_ITERATIONS
                                / sheets.PAPER_ITERATIONS),
               num_iterations=500,
               num_samples=2000, batch_size=64, features="projection",
               projection_dim=64, network_sheet=sheets.CPU_SHEET,
               curve_interval=100, select_on_validation=False,
               evaluate_fn=None):
    """Fig. 3: reconstruction and generation FID against beta.

    Args:
      out_dir: the suite's output directory.
      gin_files: applied to every model after its sheets.
      gin_bindings: same.
      datasets: sheets.DATASET_SHEETS keys.
      models: BETA_BINDINGS keys.
      betas: the sweep (>= 0).
      latent_dim: code size of every model (8: the paper's MNIST).
      warmup_fraction: FP-VAE's beta warm-up, as a fraction of training:
        the paper's 50k iterations over the 130k budget the other suites
        scale by.
      num_iterations: per model.
      num_samples: N of every metric.
      batch_size: per iteration.
      features: "inception" (FID) or "projection" (a cheap stand-in).
      projection_dim: size of the projection features.
      network_sheet: narrow CPU networks, or None for the dataset
        sheets' (authors') widths.
      curve_interval: iterations between learning-curve evaluations (0:
        none), as latent_dim's.
      select_on_validation: see `budget.Budget`.
      evaluate_fn: model_metrics.evaluate's contract (tests).

    Returns:
      Table rows [dataset, model, beta, iterations, N, recon, gen].
    """
    budget_args = locals()
    budget_lib.check_names(datasets, (), features)
    budget_lib.check_known("model", models, BETA_BINDINGS)
    if any(b < 0 for b in betas):
        raise errors.UserError(
            f"beta_sweep.betas={tuple(betas)}; every beta must be >= 0.")
    # FP-VAE's warm-up is this suite's own knob (warmup_fraction).
    budget = budget_lib.Budget.of(budget_args, scale_schedules=False)
    report = report_lib.Report(
        "beta_sweep", out_dir, "beta_sweep: FID against beta "
        "(learned-priors paper, Fig. 3)")
    warmup = int(warmup_fraction * num_iterations)
    report.text(budget.describe(), f"Latent size {latent_dim}; FP-VAE's "
                f"beta is annealed linearly from 0 over the first {warmup} "
                "iterations; the AAE's beta weights mean C(E(x)) in the "
                "reconstruction objective.")
    context = f"{num_iterations} iterations, N = {num_samples}"
    rows = []
    for dataset in datasets:
        curves, learning = {}, {}
        for name in models:
            for beta in betas:
                results = training.run_model(
                    out_dir, dataset, name, budget, ("fid",),
                    f"_beta{beta:g}",
                    model_bindings(name, beta, latent_dim, warmup))
                it, n = results["iteration"], results["num_samples"]
                fids = results["fid"]
                label = f"{name} beta={beta:g}"
                learning[label] = distances.curve_rows(
                    report, dataset, label, results, budget)
                for kind in ("reconstruction", "generation"):
                    report.result(dataset, label, f"{kind}_{budget.label}",
                                  fids[kind], it, n, budget.protocol)
                    if kind in results.get("kid", {}):  # N < 10,000
                        report.result(dataset, label,
                                      f"{kind}_{budget.kid_label}",
                                      results["kid"][kind], it, n,
                                      budget.protocol)
                    xs, ys = curves.setdefault((kind, name), ([], []))
                    xs.append(beta)
                    ys.append(fids[kind])
                rows.append([dataset, name, f"{beta:g}", it, n,
                             fids["reconstruction"], fids["generation"],
                             paired.describe_flatness(
                                 dict(zip(*learning[label]))),
                             f"{results['train_seconds']:.0f}"])
        for kind in ("reconstruction", "generation"):
            filename = f"{kind}_vs_beta_{dataset}.png"
            plots.plot_curves(
                os.path.join(out_dir, filename),
                {name: curves[(kind, name)] for name in models},
                f"beta (log axis; linear below {_LINEAR_BELOW})",
                f"{kind} {budget.label}", f"{dataset}, {context}",
                symlog_x=_LINEAR_BELOW, marker="o")
            report.figure(filename, f"{dataset}: {kind} {budget.label} "
                          f"against beta, {context}.")
        distances.curve_figure(report, f"learning_curves_{dataset}.png",
                               learning, dataset, budget)
    report.table(["dataset", "model", "beta", "iterations", "N",
                  f"recon {budget.label}", f"gen {budget.label}",
                  f"gen. {budget.curve_label}, change over the last 20 %",
                  "train seconds"], rows)
    report.write()
    return rows
