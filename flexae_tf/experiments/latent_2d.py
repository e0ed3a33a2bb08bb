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

from flexae_tf.data import datasets as data
from flexae_tf.evaluation import attributes
from flexae_tf.experiments import budget as budget_lib
from flexae_tf.experiments import formatting
from flexae_tf.experiments import plots
from flexae_tf.experiments import report as report_lib
from flexae_tf.experiments import sheets
from flexae_tf.experiments import training
from flexae_tf.metrics import fid


def _codes_and_prior(model, dataset, num_samples, seed=0):
    images = np.concatenate([b.numpy() for b in data.eval_batches(
        dataset, "test", 250, num_samples)])
    labels, names = attributes.load_labels(dataset, "test", len(images))
    codes = np.concatenate([model.encode(images[i:i + 250]).numpy()
                            for i in range(0, len(images), 250)])
    noise = tf.random.stateless_normal((len(images), model.noise_dim),
                                       seed=[seed, 2])
    return codes, labels, names, model.prior_codes(noise).numpy()


def _attribute_grids(report, model, name, dataset, num_samples):
    """Writes the model's class-direction grids; the report shows one."""
    folder = os.path.join("attributes", training.slug(name))
    written = attributes.write_attribute_grids(
        model, dataset, os.path.join(report.out_dir, folder),
        num_images=num_samples, num_rows=4)
    first = os.path.relpath(next(iter(written.values())), report.out_dir)
    report.figure(first, f"{name}: test images without class "
                  f"'{next(iter(written))}' walked along its "
                  "direction (s = -2..2; middle: reconstruction); "
                  f"all classes in {folder}/.")


@gin.configurable(denylist=budget_lib.IMAGE_RUNNER_ARGS)
def latent_2d(out_dir, gin_files=(), gin_bindings=(), dataset="mnist",
              models=("FlexAE", "FP-VAE"), num_iterations=2000,
              num_samples=2000, batch_size=64,
              network_sheet=sheets.CPU_SHEET, attribute_grids=True,
              evaluate_fn=None):
    """Fig. 2: 2-d codes by class next to the learned prior's samples.

    Args:
      out_dir: the suite's output directory.
      gin_files: applied to every model after its sheets.
      gin_bindings: same.
      dataset: mnist or fashion_mnist (class labels needed).
      models: sheets.MODEL_SHEETS keys.
      num_iterations: per model.
      num_samples: test images encoded and prior samples drawn.
      batch_size: per iteration.
      network_sheet: narrow CPU networks, or None.
      attribute_grids: also write class-direction grids per model.
      evaluate_fn: unused (the suites' common signature).
    """
    del evaluate_fn
    budget_args = locals()
    budget_lib.check_names([dataset], models)
    # FP-VAE's warm-up here is a fifth of the run (bound below).
    budget = budget_lib.Budget.of(budget_args, scale_schedules=False)
    report = report_lib.Report(
        "latent_2d", out_dir, "latent_2d: 2-d latent codes vs learned prior "
        "(learned-priors paper, Fig. 2)")
    report.text(budget.describe_training() + ".",
                f"Latent size 2; {num_samples} test images and prior "
                "samples per model.")
    panels, rows = [], []
    for name in models:
        model_dir = training.model_dir(out_dir, f"{dataset}_{name}_2d")
        model, _ = training.train_model(
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
        rows.append([name, iteration, len(codes), formatting.fmt(distance)])
        panels.append((name, codes, labels, names, prior))
        if attribute_grids:
            _attribute_grids(report, model, name, dataset, num_samples)
    report.table(["model", "iterations", "N", "FD(codes, prior), 2-d"], rows)
    filename = f"latent_2d_{dataset}.png"
    plots.plot_codes_and_prior(os.path.join(out_dir, filename), panels,
                               f"{dataset}, {num_iterations} iterations")
    report.figure(filename, f"{dataset}: encoded test codes by class (left) "
                  f"and learned-prior samples (right), {num_iterations} "
                  f"iterations, N = {num_samples}.")
    report.write()
    return rows
