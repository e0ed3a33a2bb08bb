"""`bn_statistics` suite: which passes should update FlexAE's BN statistics.

`FlexAE.bn_statistics='all'` (the authors' graph: every training pass
updates the moving statistics) against `'reconstruction'` (only the
reconstruction update's passes). The weights are the same under both
(every pass normalises with its batch statistics), so each seed's pair
differs only in the moving statistics that evaluation uses: a paired
design. Pre-registered (docs/algorithm.md, "Batch-norm moving
statistics"): the metric is the generation KID (Inception) of the final
checkpoint against the validation split at N images; `'reconstruction'`
becomes the default only if the claim "its KID is lower" holds by
`paired.compare` (every seed, one-sided p < 0.05); otherwise the authors'
`'all'` stays. The report also compares reconstructions made with the
moving statistics (inference mode, what every evaluation uses) and with
each batch's own statistics (training mode), which tells whether the
moving statistics, rather than the weights, make reconstructions worse.
"""

import functools
import os

import gin

from flexae_tf.data import datasets as data
from flexae_tf.evaluation import model_metrics
from flexae_tf.experiments import budget as budget_lib
from flexae_tf.experiments import distances
from flexae_tf.experiments import formatting
from flexae_tf.experiments import paired
from flexae_tf.experiments import report as report_lib
from flexae_tf.experiments import sheets
from flexae_tf.experiments import training
from flexae_tf.models import batch_norm
from flexae_tf.models import losses
from flexae_tf.storage import artifacts

POLICIES = ("all", "reconstruction")


def reconstruction_errors(model, dataset, num_images, batch_size):
    """Mean squared error per image of validation reconstructions.

    Returns:
      {"inference": with the moving statistics (what evaluation uses),
       "training": with each batch's own statistics}. The training-mode
      passes leave the moving statistics unchanged.
    """
    errors = {"inference": [], "training": []}
    with batch_norm.frozen_moving_statistics(model.encoder, model.decoder):
        for images in data.eval_batches(dataset, "validation", batch_size,
                                        num_images=num_images):
            for mode, training_mode in (("inference", False),
                                        ("training", True)):
                recon = model.decoder(model.encoder(
                    images, training=training_mode), training=training_mode)
                errors[mode].append(float(losses.reconstruction_loss(
                    images, recon)) * len(images))
    return {mode: sum(values) / num_images for mode, values in errors.items()}


@gin.configurable(denylist=budget_lib.IMAGE_RUNNER_ARGS)
def bn_statistics(out_dir, gin_files=(), gin_bindings=(), dataset="mnist",
                  model="FlexAE-SR", seeds=(0, 1, 2), num_iterations=5000,
                  num_samples=2100, batch_size=64, features="inception",
                  projection_dim=64, network_sheet=sheets.CPU_SHEET,
                  curve_interval=500, evaluate_fn=None):
    """Trains `model` once per (seed, policy) and applies the rule.

    Args: see `budget.Budget`; `seeds` are `train.seed` and
    `make_model.seed` of each pair; `curve_interval` as latent_dim's
    (each policy's curve uses its own moving statistics).
    """
    budget_args = locals()
    budget_lib.check_names([dataset], [model], features)
    budget_args["evaluate_fn"] = evaluate_fn or functools.partial(
        model_metrics.evaluate, split="validation")
    budget = budget_lib.Budget.of(budget_args, distance="fid")
    budget.check_fid_samples("bn_statistics")
    report = report_lib.Report(
        "bn_statistics", out_dir,
        f"bn_statistics: which passes update the BN moving statistics "
        f"({model}, {dataset})")
    report.text(
        budget.describe_training() + f"; seeds {list(seeds)}. Metrics of the "
        f"final checkpoint against the validation split (the last 5,000 "
        f"training images, never trained on), N = {num_samples}, "
        f"{budget.protocol}.",
        "Rule fixed before the runs: 'reconstruction' replaces the authors' "
        f"'all' only if its generation {budget.kid_label} is lower in every "
        "seed with a "
        f"one-sided paired t-test p < {paired.ALPHA}.",
        "Paper column: none; the FlexAE paper does not study this choice "
        "(the authors' code uses 'all').")
    rows, kids, learning = [], {policy: [] for policy in POLICIES}, {}
    kid_label, fid_label = budget.kid_label, budget.label
    for seed in seeds:
        for policy in POLICIES:
            bindings = [f"train.seed = {seed}", f"make_model.seed = {seed}",
                        f"FlexAE.bn_statistics = '{policy}'"]
            name = f"{model} bn={policy} seed={seed}"
            results = training.run_model(out_dir, dataset, model, budget,
                                         ("fid",), f"_{policy}_seed{seed}",
                                         bindings)
            trained = artifacts.load_keras(
                os.path.join(results["model_dir"], artifacts.KERAS_FILE))
            mse = reconstruction_errors(trained, dataset, num_samples,
                                        batch_size)
            kid, kid_std = results["kid"], results.get("kid_std", {})
            kids[policy].append(kid["generation"])
            it = results["iteration"]
            steps, values = distances.curve_rows(report, dataset, name,
                                                 results, budget)
            learning[f"{policy}, seed {seed}"] = (steps, values)
            for metric, value in (
                    (f"generation_{kid_label}", kid["generation"]),
                    (f"reconstruction_{kid_label}", kid["reconstruction"]),
                    (f"generation_{fid_label}", results["fid"]["generation"]),
                    (f"reconstruction_{fid_label}",
                     results["fid"]["reconstruction"]),
                    ("reconstruction_MSE_inference", mse["inference"]),
                    ("reconstruction_MSE_training", mse["training"])):
                report.result(dataset, name, metric, value, it, num_samples,
                              budget.protocol)
            rows.append([seed, policy, it, _with_std(kid, kid_std,
                                                     "generation"),
                         _with_std(kid, kid_std, "reconstruction"),
                         results["fid"]["generation"],
                         results["fid"]["reconstruction"],
                         mse["inference"], mse["training"],
                         paired.describe_flatness(dict(zip(steps, values))),
                         f"{results['train_seconds']:.0f}"])
    report.table(["seed", "bn_statistics", "iterations", f"{kid_label} gen.",
                  f"{kid_label} recon.",
                  f"{fid_label} gen. (N = {num_samples})",
                  f"{fid_label} recon.", "recon. MSE, moving stats",
                  "recon. MSE, batch stats",
                  f"gen. {budget.curve_label}, change over the last 20 %",
                  "train seconds"], rows,
                 "KID +- its block standard error; MSE: squared error "
                 "summed over pixels, mean over validation images.")
    distances.curve_figure(report, "learning_curves.png", learning, dataset,
                           budget)
    result = (paired.compare(kids["reconstruction"], kids["all"])
              if len(seeds) > 1 else None)
    # One seed cannot decide: the rule needs the paired test.
    default = (None if result is None else "reconstruction"
               if result.verdict == paired.HOLDS else "all")
    steep = [label for label, (steps, values) in learning.items()
             if paired.is_steep(dict(zip(steps, values)))]
    report.text(
        f"Claim 'reconstruction has the lower generation {kid_label}': " + (
            result.describe() if result else "one seed, no test") + "." + (
            f" Still steep at the end (learning curve falling by more than "
            f"{-100 * paired.STEEP_CHANGE:g} % over the last 20 %): "
            f"{', '.join(steep)}." if steep else ""),
        f"Default by the rule: FlexAE.bn_statistics = '{default}'."
        if default else "Default by the rule: not decided by one seed.")
    report.write()
    return {"rows": rows, "paired": result, "default": default}


def _with_std(values, stds, key):
    value = formatting.fmt(values[key])
    return (f"{value} +- {formatting.fmt(stds[key], 2)}" if key in stds
            else value)
