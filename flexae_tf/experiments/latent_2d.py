"""`latent_2d` suite: the 2-d latent picture (learned-priors paper, Fig. 2).

Trains each model with a 2-d latent space, then draws, side by side, the
encoded test codes coloured by class and samples of the learned prior in
the same frame: where the prior puts mass the codes do not (holes between
classes) is where generation fails. Also reports the Frechet distance
between the two clouds, and writes class-direction attribute grids
(FlexAE paper, Fig. 5c; `metrics.attributes`) of every model.
"""

import os

import gin
import numpy as np
import tensorflow as tf

from flexae_tf.metrics import fid
from flexae_tf.core import figures
from flexae_tf.data import datasets as data
from flexae_tf.experiments import image_suites
from flexae_tf.experiments import reports
from flexae_tf.evaluation import attributes

_DENY = ["out_dir", "gin_files", "gin_bindings", "evaluate_fn"]
# The image suites' name check and directory naming, shared on purpose.
check_names = image_suites._check_names  # pylint: disable=protected-access
slug = image_suites._slug  # pylint: disable=protected-access


def _codes_and_prior(model, dataset, num_samples, seed=0):
    images = np.concatenate([b.numpy() for b in data.eval_batches(
        dataset, "test", 250, num_samples)])
    labels, names = attributes.load_labels(dataset, "test", len(images))
    codes = np.concatenate([model.encode(images[i:i + 250]).numpy()
                            for i in range(0, len(images), 250)])
    noise = tf.random.stateless_normal((len(images), model.noise_dim),
                                       seed=[seed, 2])
    return codes, labels, names, model.prior_codes(noise).numpy()


def plot_latents(path, panels, title):
    """Per model: codes coloured by class | prior samples, shared frame."""
    plt = figures.pyplot()
    figure, axes = plt.subplots(len(panels), 2, squeeze=False,
                                figsize=(7.0, 3.2 * len(panels)))
    for row, (name, codes, labels, names, prior) in enumerate(panels):
        both = np.concatenate([codes, prior])
        low, high = np.percentile(both, [0.5, 99.5], axis=0)
        pad = 0.05 * (high - low)
        for col, (points, text) in enumerate(
                ((codes, "encoded test codes"), (prior, "prior samples"))):
            ax = axes[row, col]
            if col == 0:
                scatter = ax.scatter(points[:, 0], points[:, 1], s=2,
                                     c=labels, cmap="tab10", vmin=-0.5,
                                     vmax=9.5)
                figure.colorbar(scatter, ax=ax, ticks=range(len(names)))
            else:
                ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5,
                           color="gray")
            ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
            ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
            ax.set_title(f"{name}: {text}", fontsize=8)
            ax.tick_params(labelsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figures.save(figure, path)


@gin.configurable(denylist=_DENY)
def latent_2d(out_dir, gin_files=(), gin_bindings=(), dataset="mnist",
              models=("FlexAE", "FP-VAE"), num_iterations=2000,
              num_samples=2000, batch_size=64,
              network_sheet=image_suites.CPU_SHEET, attribute_grids=True,
              evaluate_fn=None):
    """Fig. 2: 2-d codes by class next to the learned prior's samples.

    Args:
      out_dir: the suite's output directory.
      gin_files: applied to every model after its sheets.
      gin_bindings: same.
      dataset: mnist or fashion_mnist (class labels needed).
      models: image_suites.MODEL_SHEETS keys.
      num_iterations: per model.
      num_samples: test images encoded and prior samples drawn.
      batch_size: per iteration.
      network_sheet: narrow CPU networks, or None.
      attribute_grids: also write class-direction grids per model.
      evaluate_fn: unused (the suites' common signature).
    """
    del evaluate_fn
    check_names([dataset], models)
    budget = image_suites.Budget(
        num_iterations, num_samples, batch_size, "projection", 2,
        network_sheet, gin_files, gin_bindings, None)
    report = reports.Report("latent_2d", out_dir, "latent_2d: 2-d latent "
                            "codes vs learned prior (learned-priors paper, "
                            "Fig. 2)")
    report.text(budget.describe().split(";")[0] + ".",
                f"Latent size 2; {num_samples} test images and prior "
                "samples per model.")
    panels, rows = [], []
    for name in models:
        model_dir = os.path.join(out_dir, "models",
                                 slug(f"{dataset}_{name}_2d"))
        model, _ = image_suites.train_model(
            model_dir, dataset, name, budget, [
                "LATENT_DIM = 2",
                f"FPVAE.warmup_iterations = {num_iterations // 5}"]
            if name == "FP-VAE" else ["LATENT_DIM = 2"])
        codes, labels, names, prior = _codes_and_prior(
            model, dataset, num_samples)
        iteration = int(model.iteration.numpy())
        distance = fid.frechet_distance_between(codes, prior)
        report.result(dataset, name, "latent_FD_codes_vs_prior", distance,
                      iteration, len(codes), "2-d codes")
        rows.append([name, iteration, len(codes), reports.fmt(distance)])
        panels.append((name, codes, labels, names, prior))
        if attribute_grids:
            written = attributes.write_attribute_grids(
                model, dataset, os.path.join(out_dir, "attributes",
                                             slug(name)),
                num_images=num_samples, num_rows=4)
            first = os.path.relpath(next(iter(written.values())), out_dir)
            report.figure(first, f"{name}: test images without class "
                          f"'{next(iter(written))}' walked along its "
                          "direction (s = -2..2; middle: reconstruction); "
                          f"all classes in attributes/{slug(name)}/.")
    report.table(["model", "iterations", "N", "FD(codes, prior), 2-d"], rows)
    filename = f"latent_2d_{dataset}.png"
    plot_latents(os.path.join(out_dir, filename), panels,
                 f"{dataset}, {num_iterations} iterations")
    report.figure(filename, f"{dataset}: encoded test codes by class (left) "
                  f"and learned-prior samples (right), {num_iterations} "
                  f"iterations, N = {num_samples}.")
    report.write()
    return rows
