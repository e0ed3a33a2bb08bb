"""Suites on synthetic data x = f(z) in R^128 (FlexAE paper, Figs. 2, 3).

- `synthetic_dim`: z ~ N(0, I_5), models with m = 50: WAE (fixed N(0, I)
  prior) vs FlexAE. Curves of the latent critic's Wasserstein estimate and
  of the generation Frechet distance, computed on the 128-d data directly.
- `synthetic_mog`: z from a mixture of Gaussians in R^2, models with a 2-d
  latent: VAE, WAE with N(0, I), WAE with a fixed Gaussian-mixture prior,
  FlexAE. Scatter plots of encoded test codes and prior samples.

Models use the MLP encoder and decoder (gin/experiments/synthetic.gin) and
are trained by `train_lib.fit` (Model.fit, as image training) on an
in-memory tf.data pipeline; no checkpoints are written (a suite reruns in
minutes).
"""

import math
import os
import time

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf
from keras import ops

from flexae_tf.metrics import fid
from flexae_tf.models import baselines
from flexae_tf.training import callbacks
from flexae_tf.core import cli
from flexae_tf.core import progress
from flexae_tf.core import errors
from flexae_tf.experiments import reports
from flexae_tf.models import flexae
from flexae_tf.models import gmm
from flexae_tf.experiments import synthetic_data
from flexae_tf.training import train_lib

SHEET = "gin/experiments/synthetic.gin"


class FixedMixtureWAE(flexae.FlexAE):
    """WAE-GAN whose fixed prior is a Gaussian mixture, not N(0, I).

    The latent critic and every update are FlexAE's with prior='normal';
    only the prior samples differ: noise [b, latent_dim + 1] is mapped
    through `gmm.GaussianMixturePrior` with `num_components` equal-weight
    components N(mu_k, std^2 I), mu_k on a circle of `radius` in the first
    two latent dimensions (zero in the others).
    """

    def __init__(self, image_shape, latent_dim=2, num_components=4,
                 radius=2.0, std=0.5, seed=0, name="wae_gmm"):
        super().__init__(image_shape, latent_dim=latent_dim,
                         noise_dim=latent_dim, prior="normal",
                         smoothing=False, seed=seed, name=name)
        self.noise_dim = latent_dim + 1  # + 1 picks the component.
        means = np.zeros((num_components, latent_dim))
        means[:, :2] = synthetic_data.mixture_means(num_components, radius)
        self.mixture = gmm.GaussianMixturePrior(
            latent_dim, num_components, name="gaussian_mixture")
        self.mixture(ops.zeros((1, self.noise_dim)))  # Marks it built.
        self.mixture.assign_fit(
            np.full(num_components, 1.0 / num_components), means,
            np.tile(std**2 * np.eye(latent_dim), (num_components, 1, 1)))

    def prior_codes(self, noise, training=False):
        del training  # The mixture is fixed.
        codes = self.mixture(noise)
        if self.encoder.latent_mask is not None:
            codes = self.encoder.latent_mask(codes)
        return codes

    def trackables(self, inference_only=False):
        items = super().trackables(inference_only)
        items["gaussian_mixture"] = self.mixture
        return items


def _pipeline(x, batch_size, group_size, seed):
    dataset = tf.data.Dataset.from_tensor_slices(x)
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat().batch(batch_size, drop_remainder=True)
    dataset = dataset.batch(group_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


class _History(keras.callbacks.Callback):
    """History points every eval_interval iterations (after Boundary)."""

    def __init__(self, run, eval_interval, evaluate):
        super().__init__()
        self.run, self.eval_interval = run, eval_interval
        self.evaluate = evaluate
        self.points, self.start = [], time.time()

    def on_epoch_end(self, epoch, logs=None):
        run = self.run
        if not run.due(self.eval_interval):
            return
        point = dict(iteration=run.iteration,
                     seconds=time.time() - self.start, **run.logs)
        point.update(self.evaluate(self.model))
        self.points.append(point)
        logging.info("%s", progress.line(
            run.iteration, run.num_iterations,
            run.iteration / point["seconds"],
            {k: v for k, v in point.items()
             if k not in ("iteration", "seconds")}, name=run.name))


def train_on_array(model, x, num_iterations, batch_size, eval_interval,
                   evaluate, seed=0, name="model"):
    """Trains a compiled model on rows of x; evaluates every eval_interval.

    Goes through `train_lib.fit` (Model.fit with the Boundary callback's
    replica sync and finiteness checks), like image training.

    Args:
      model: compiled model (FlexAE API) on vector data.
      x: float32 [n, d] training data.
      num_iterations, batch_size: budget.
      eval_interval: iterations between history points (and the last).
      evaluate: model -> dict of numbers, added to each history point.
      seed: data order.
      name: for progress lines.

    Returns:
      History: a list of {"iteration", "seconds", tracker means over the
      interval..., evaluate(model)...}.

    Raises:
      train_lib.TrainingDiverged: a loss or weight became NaN/inf.
    """
    run = train_lib.Run(name=name, iteration=0, num_iterations=num_iterations,
                        epoch_length=math.gcd(eval_interval, num_iterations))
    history = _History(run, eval_interval, evaluate)
    train_lib.fit(model, _pipeline(x, batch_size, model.group_size, seed),
                  run, [callbacks.Boundary(run, lambda: None), history])
    return history.points


def _final_metrics(model, data, num_samples):
    test = data.test[:num_samples]
    recon = model.reconstruct(test).numpy()
    codes = model.encode(test).numpy()
    nac, active = reports.nac(codes)
    return {"reconstruction_fd": fid.frechet_distance_between(recon, test),
            "nac": nac, "nac_dimensions": active, "codes": codes}


def _generation_fd(data, num_samples, seed):
    test = data.test[:num_samples]
    return lambda model: {"generation_fd": fid.frechet_distance_between(
        model.sample(num_samples, seed=seed).numpy(), test)}


def _train_models(builders, data, budget, suite, report):
    """Trains each builder's model; returns {name: (model, history, final)}."""
    results = {}
    for name, build in builders.items():
        keras.utils.set_random_seed(budget["seed"])  # Same initial draws.
        model = build()
        model.compile()
        history = train_on_array(
            model, data.train, budget["num_iterations"],
            budget["batch_size"], budget["eval_interval"],
            _generation_fd(data, budget["num_samples"], budget["seed"]),
            budget["seed"], f"{suite}/{name}")
        final = _final_metrics(model, data, budget["num_samples"])
        results[name] = (model, history, final)
        n, it = budget["num_samples"], history[-1]["iteration"]
        for point in history:
            report.result("synthetic", name, "generation_fd",
                          point["generation_fd"], point["iteration"], n,
                          "raw 128-d data")
            if "latent_wasserstein" in point:
                report.result("synthetic", name, "latent_wasserstein",
                              point["latent_wasserstein"], point["iteration"],
                              budget["batch_size"], "latent codes")
        for metric in ("reconstruction_fd", "nac"):
            report.result("synthetic", name, metric, final[metric], it, n,
                          "raw 128-d data" if metric != "nac" else "codes")
    return results


def _summary(report, results, budget, floor):
    rows = []
    for name, (model, history, final) in results.items():
        last = history[-1]
        rows.append([name, last["iteration"], budget["num_samples"],
                     last.get("latent_wasserstein", float("nan")),
                     last["generation_fd"], final["reconstruction_fd"],
                     f"{reports.fmt(final['nac'])} "
                     f"({final['nac_dimensions']})",
                     f"{last['seconds']:.0f}"])
    report.table(
        ["model", "iterations", "N", "latent W estimate", "generation FD",
         "reconstruction FD", "NAC (dims)", "train seconds"], rows,
        f"Frechet distances on the raw 128-d data between N model vectors "
        f"and N test vectors. Latent W estimate: the critic's mean "
        f"C(E(x)) - C(prior) over the last {budget['eval_interval']} "
        f"iterations (batch {budget['batch_size']}). For scale: FD between "
        f"N training and N test vectors (sampling noise floor) = "
        f"{reports.fmt(floor)}.")


def _start(gin_files, gin_bindings, **budget):
    """Checks the budget, configures gin (SHEET first); returns the budget."""
    errors.check_positive(
        "", **{k: v for k, v in budget.items() if k != "seed"})
    cli.load_gin([SHEET] + list(gin_files), gin_bindings)
    return budget


def _summarize(report, results, data, budget):
    """The summary table and the NAC figure."""
    n = budget["num_samples"]
    _summary(report, results, budget,
             fid.frechet_distance_between(data.train[:n], data.test[:n]))
    reports.nac_figure(report, "nac.png",
                   {name: r[2]["nac"] for name, r in results.items()},
                   f"{budget['num_iterations']} iterations, N = {n}")


def _curves(results, key):
    return {name: ([p["iteration"] for p in h], [p[key] for p in h])
            for name, (_, h, _) in results.items() if key in h[0]}


@gin.configurable(denylist=["out_dir", "gin_files", "gin_bindings"])
def synthetic_dim(out_dir, gin_files=(), gin_bindings=(),
                  num_iterations=10000, num_samples=5000, batch_size=64,
                  eval_interval=500, num_train=20000, true_latent_dim=5,
                  latent_dim=50, seed=0):
    """Paper Fig. 2: latent m = 50 for data with a 5-d latent."""
    budget = _start(gin_files, gin_bindings, num_iterations=num_iterations,
                    num_samples=num_samples, batch_size=batch_size,
                    eval_interval=eval_interval, seed=seed)
    data = synthetic_data.normal_data(true_latent_dim, 128, num_train,
                                      num_samples, seed)
    report = reports.Report("synthetic_dim", out_dir,
                        "synthetic_dim: latent dimension mismatch (Fig. 2)")
    report.text(f"Data: {data.description}; {num_train} training vectors.",
                f"Models: latent m = {latent_dim}, MLP encoder/decoder "
                f"({SHEET}), no smoothing.")
    shape = data.train.shape[1:]
    builders = {
        "WAE (N(0, I) prior)": lambda: flexae.FlexAE(
            shape, latent_dim=latent_dim, noise_dim=latent_dim,
            prior="normal", smoothing=False, name="wae"),
        "FlexAE": lambda: flexae.FlexAE(
            shape, latent_dim=latent_dim, prior="learned", smoothing=False),
    }
    results = _train_models(builders, data, budget, "synthetic_dim", report)
    _summarize(report, results, data, budget)
    iterations = num_iterations
    for key, label, filename in (
            ("latent_wasserstein", "latent critic W estimate",
             "wasserstein.png"),
            ("generation_fd", f"generation FD (N = {num_samples})",
             "generation_fd.png")):
        reports.plot_curves(os.path.join(out_dir, filename),
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


@gin.configurable(denylist=["out_dir", "gin_files", "gin_bindings"])
def synthetic_mog(out_dir, gin_files=(), gin_bindings=(),
                  num_iterations=10000, num_samples=5000, batch_size=64,
                  eval_interval=1000, num_train=20000, num_components=8,
                  radius=3.0, std=0.3, prior_components=4, prior_radius=2.0,
                  prior_std=0.5, seed=0):
    """Paper Fig. 3: mixture-of-Gaussians latent, 2-d model latents."""
    budget = _start(gin_files, gin_bindings, num_iterations=num_iterations,
                    num_samples=num_samples, batch_size=batch_size,
                    eval_interval=eval_interval, seed=seed)
    data = synthetic_data.mixture_data(num_components, radius, std, 128,
                                       num_train, num_samples, seed)
    report = reports.Report("synthetic_mog", out_dir,
                        "synthetic_mog: multi-modal latent (Fig. 3)")
    report.text(
        f"Data: {data.description}; {num_train} training vectors.",
        f"Models: 2-d latent, MLP encoder/decoder ({SHEET}). The fixed "
        f"GMM prior has {prior_components} equal components "
        f"N(mu_k, {prior_std}^2 I) on a circle of radius {prior_radius}: a "
        "plausible but wrong guess of the true latent.")
    shape = data.train.shape[1:]
    builders = {
        "VAE": lambda: baselines.VAE(shape, latent_dim=2),
        "WAE (N(0, I) prior)": lambda: flexae.FlexAE(
            shape, latent_dim=2, noise_dim=2, prior="normal",
            smoothing=False, name="wae"),
        "WAE (fixed GMM prior)": lambda: FixedMixtureWAE(
            shape, 2, prior_components, prior_radius, prior_std),
        "FlexAE": lambda: flexae.FlexAE(shape, latent_dim=2, prior="learned",
                                        smoothing=False),
    }
    results = _train_models(builders, data, budget, "synthetic_mog", report)
    _summarize(report, results, data, budget)
    reports.plot_scatter_grid(
        os.path.join(out_dir, "latents.png"),
        _mog_panels(results, data, num_samples, seed),
        f"{num_iterations} iterations, N = {num_samples} points per panel")
    report.figure("latents.png", "Encoded test codes (left) and prior "
                  f"samples (right) per model after {num_iterations} "
                  f"iterations, N = {num_samples}; generation FD in titles.")
    reports.plot_curves(os.path.join(out_dir, "generation_fd.png"),
                    _curves(results, "generation_fd"), "iteration",
                    f"generation FD (N = {num_samples})",
                    "synthetic_mog: generation FD", log_y=True)
    report.figure("generation_fd.png", "Generation FD over iterations.")
    report.write()
    return results
