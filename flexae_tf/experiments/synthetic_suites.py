"""Suites on synthetic data x = f(z) in R^128 (FlexAE paper, Figs. 2, 3).

- `synthetic_dim`: z ~ N(0, I_5), models with m = 50: WAE-GAN and a WAE
  with FlexAE's WGAN-GP critic (both a fixed N(0, I) prior) vs FlexAE.
  Curves of the generation Frechet distance, computed on the 128-d data
  directly (the claim's metric), and of each critic's own Wasserstein
  estimate (not comparable across models).
- `synthetic_mog`: z from a mixture of Gaussians in R^2, models with a 2-d
  latent: VAE, WAE with N(0, I), WAE with a fixed Gaussian-mixture prior,
  FlexAE. Scatter plots of encoded test codes and prior samples.

Models use the MLP encoder and decoder (gin/experiments/synthetic.gin) and
are trained by `synthetic_training.train_models` on in-memory data; no
checkpoints are written (a suite reruns in minutes).
"""

import os

import gin
from keras import ops
import tensorflow as tf

from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.experiments import budget as budget_lib
from flexae_tf.experiments import formatting
from flexae_tf.experiments import paired
from flexae_tf.experiments import plots
from flexae_tf.experiments import report as report_lib
from flexae_tf.experiments import sheets
from flexae_tf.experiments import synthetic_data
from flexae_tf.experiments import synthetic_models
from flexae_tf.experiments import synthetic_training
from flexae_tf.metrics import fid
from flexae_tf.models import vae
from flexae_tf.models import flexae
from flexae_tf.models import wae_gan

WAE_GAN = "WAE-GAN (Tolstikhin et al.)"


def _summary(report, results, budget, floor):
    rows = []
    for name, (model, history, final) in results.items():
        last = history[-1]
        curve = {p["iteration"]: p["generation_fd"] for p in history}
        rows.append([name, last["iteration"], budget.num_samples,
                     last.get("latent_wasserstein", float("nan")),
                     last["generation_fd"],
                     paired.describe_flatness(curve),
                     final["reconstruction_fd"],
                     f"{formatting.fmt(final['nac'])} "
                     f"({final['nac_dimensions']})",
                     f"{last['seconds']:.0f}"])
    report.table(
        ["model", "iterations", "N", "latent W estimate", "generation FD",
         "generation FD, change over the last 20 %", "reconstruction FD",
         "NAC (dims)", "train seconds"], rows,
        f"Frechet distances on the raw 128-d data between N model vectors "
        f"and N test vectors. Latent W estimate: the critic's mean "
        f"C(E(x)) - C(prior) over the last {budget.curve_interval} "
        f"iterations (batch {budget.batch_size}), each critic's own "
        f"estimate, so not comparable across models (WAE-GAN's JS "
        f"discriminator has none). For scale: FD between "
        f"N training and N test vectors (sampling noise floor) = "
        f"{formatting.fmt(floor)}.")


def _start(arguments):
    """Checks a suite's budget, configures gin (synthetic sheet first).

    `arguments`: the suite's locals() on entry; its `eval_interval` is
    the budget's curve_interval.

    Returns:
      The budget.
    """
    budget = budget_lib.Budget.of(
        arguments, curve_interval=arguments["eval_interval"])
    errors.check_positive("", eval_interval=budget.curve_interval)
    cli.load_gin([sheets.SYNTHETIC_SHEET] + list(budget.gin_files),
                 budget.gin_bindings)
    return budget


def _summarize(report, results, data, budget):
    """The summary table and the NAC figure."""
    n = budget.num_samples
    _summary(report, results, budget,
             fid.frechet_distance_between(data.train[:n], data.test[:n]))
    plots.nac_figure(report, "nac.png",
                     {name: r[2]["nac"] for name, r in results.items()},
                     f"{budget.num_iterations} iterations, N = {n}")


def _curves(results, key):
    return {name: ([p["iteration"] for p in h], [p[key] for p in h])
            for name, (_, h, _) in results.items() if key in h[0]}


@gin.configurable(denylist=budget_lib.RUNNER_ARGS)
def synthetic_dim(out_dir, gin_files=(), gin_bindings=(),
                  num_iterations=10000, num_samples=5000, batch_size=64,
                  eval_interval=500, num_train=20000, true_latent_dim=5,
                  latent_dim=50, seed=0):
    """Paper Fig. 2: latent m = 50 for data with a 5-d latent."""
    budget = _start(locals())
    data = synthetic_data.normal_data(true_latent_dim, 128, num_train,
                                      num_samples, seed)
    report = report_lib.Report(
        "synthetic_dim", out_dir,
        "synthetic_dim: latent dimension mismatch (Fig. 2)")
    report.text(f"Data: {data.description}; {num_train} training vectors.",
                f"Models: latent m = {latent_dim}, MLP encoder/decoder "
                f"({sheets.SYNTHETIC_SHEET}), no smoothing.")
    shape = data.train.shape[1:]
    builders = {
        # The fixed-prior baseline of the claim (C1): Tolstikhin et al.'s
        # WAE-GAN, lambda * its adversarial term in the AE objective.
        WAE_GAN: lambda: wae_gan.WAEGAN(shape, latent_dim=latent_dim),
        # FlexAE with N(0, I) in place of P-GEN: the encoder is pulled only
        # by its own 1e-5 Adam step, a weaker fixed-prior baseline.
        "WAE (WGAN-GP critic)": lambda: flexae.FlexAE(
            shape, latent_dim=latent_dim, noise_dim=latent_dim,
            prior="normal", smoothing=False, name="wae"),
        "FlexAE": lambda: flexae.FlexAE(
            shape, latent_dim=latent_dim, prior="learned", smoothing=False),
    }
    results = synthetic_training.train_models(builders, data, budget,
                                              "synthetic_dim", report)
    _summarize(report, results, data, budget)
    iterations = num_iterations
    for key, label, filename in (
            ("latent_wasserstein", "latent critic W estimate",
             "wasserstein.png"),
            ("generation_fd", f"generation FD (N = {num_samples})",
             "generation_fd.png")):
        plots.plot_curves(os.path.join(out_dir, filename),
                          _curves(results, key), "iteration", label,
                          f"synthetic_dim: {label}, m = {latent_dim}",
                          log_y=key == "generation_fd")
        report.figure(filename, f"{label} over {iterations} iterations.")
    report.write()
    return results


def _mog_panels(results, data, num_samples, seed):
    truth = data.test_latents[:num_samples]
    panels = [("true latent z", [(truth, "test latents"),
                                 (data.train_latents[:num_samples],
                                  "training latents")])]
    for name, (model, history, final) in results.items():
        noise = tf.random.stateless_normal((num_samples, model.noise_dim),
                                           seed=[seed, 7])
        prior = ops.convert_to_numpy(model.prior_codes(noise))
        fd = history[-1]["generation_fd"]
        panels.append((f"{name} (generation FD {fd:.3g})",
                       [(final["codes"], "encoded test codes"),
                        (prior, "prior samples")]))
    return panels


@gin.configurable(denylist=budget_lib.RUNNER_ARGS)
def synthetic_mog(out_dir, gin_files=(), gin_bindings=(),
                  num_iterations=10000, num_samples=5000, batch_size=64,
                  eval_interval=1000, num_train=20000, num_components=8,
                  radius=3.0, std=0.3, prior_components=4, prior_radius=2.0,
                  prior_std=0.5, seed=0):
    """Paper Fig. 3: mixture-of-Gaussians latent, 2-d model latents."""
    budget = _start(locals())
    data = synthetic_data.mixture_data(num_components, radius, std, 128,
                                       num_train, num_samples, seed)
    report = report_lib.Report(
        "synthetic_mog", out_dir,
        "synthetic_mog: multi-modal latent (Fig. 3)")
    report.text(
        f"Data: {data.description}; {num_train} training vectors.",
        f"Models: 2-d latent, MLP encoder/decoder "
        f"({sheets.SYNTHETIC_SHEET}). The fixed GMM prior has "
        f"{prior_components} equal components "
        f"N(mu_k, {prior_std}^2 I) on a circle of radius {prior_radius}: a "
        "plausible but wrong guess of the true latent.")
    shape = data.train.shape[1:]
    builders = {
        "VAE": lambda: vae.VAE(shape, latent_dim=2),
        "WAE (N(0, I) prior)": lambda: flexae.FlexAE(
            shape, latent_dim=2, noise_dim=2, prior="normal",
            smoothing=False, name="wae"),
        "WAE (fixed GMM prior)": lambda: synthetic_models.FixedMixtureWAE(
            shape, 2, prior_components, prior_radius, prior_std),
        "FlexAE": lambda: flexae.FlexAE(shape, latent_dim=2, prior="learned",
                                        smoothing=False),
    }
    results = synthetic_training.train_models(builders, data, budget,
                                              "synthetic_mog", report)
    _summarize(report, results, data, budget)
    plots.plot_scatter_grid(
        os.path.join(out_dir, "latents.png"),
        _mog_panels(results, data, num_samples, seed),
        f"{num_iterations} iterations, N = {num_samples} points per panel")
    report.figure("latents.png", "Encoded test codes (left) and prior "
                  f"samples (right) per model after {num_iterations} "
                  f"iterations, N = {num_samples}; generation FD in titles.")
    plots.plot_curves(os.path.join(out_dir, "generation_fd.png"),
                      _curves(results, "generation_fd"), "iteration",
                      f"generation FD (N = {num_samples})",
                      "synthetic_mog: generation FD", log_y=True)
    report.figure("generation_fd.png", "Generation FD over iterations.")
    report.write()
    return results
