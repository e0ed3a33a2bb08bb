"""`memorization` suite (FlexAE paper, Table 4): PMS and IMS.

Mean L2 distance to the nearest neighbour, in pixel space (PMS) and in
the budget's feature space (IMS), of a model trained by
`training.run_model` or of models already trained (`model_dirs`).
"""

import os

import gin

from flexae_tf.experiments import budget as budget_lib
from flexae_tf.experiments import formatting
from flexae_tf.experiments import plots
from flexae_tf.experiments import report as report_lib
from flexae_tf.experiments import sheets
from flexae_tf.experiments import training
from flexae_tf.storage import checkpoints

_PAIRS = ("Tr-Tr", "Gen-Tr", "Tr-Te", "Gen-Te")


def _evaluate(out_dir, dataset, which, budget):
    """(name, dataset, results) of a model to train or a trained model_dir
    (dataset None)."""
    if dataset is None:
        loaded, _, dataset = checkpoints.load_trained(which)
        name = os.path.basename(os.path.normpath(which))
        return name, dataset, training.evaluate_model(
            loaded, which, dataset, ("memorization",), budget)
    return which, dataset, training.run_model(out_dir, dataset, which,
                                              budget, ("memorization",))


@gin.configurable(denylist=budget_lib.IMAGE_RUNNER_ARGS)
def memorization(out_dir, gin_files=(), gin_bindings=(), datasets=("mnist",),
                 model="FlexAE-SR", model_dirs=(), num_iterations=1200,
                 num_samples=1000, batch_size=64, features="inception",
                 projection_dim=64, network_sheet=sheets.CPU_SHEET,
                 evaluate_fn=None):
    """Table 4: PMS / IMS of a trained model.

    Trains `model` on each of `datasets`, or, when `model_dirs` is given,
    evaluates those already trained models (train with flexae_tf.main).
    The other arguments: see `budget.Budget`.
    """
    budget_args = locals()
    budget_lib.check_names(datasets, [model], features)
    budget = budget_lib.Budget.of(budget_args)
    report = report_lib.Report("memorization", out_dir,
                               "memorization: PMS and IMS (Table 4)")
    report.text(budget.describe() if not model_dirs else
                f"Trained models from {list(model_dirs)}; N = "
                f"{num_samples}; features: {budget.protocol}.",
                "Mean L2 distance from each image of the first set to its "
                "nearest neighbour in the second: Gen-Tr from generated to "
                "training images, Tr-Te from training to test images, etc. "
                "Gen-Tr below Tr-Tr or below Gen-Te hints at memorization; "
                "the paper's claim is Gen-Tr close to Tr-Tr.")
    runs = ([(None, d) for d in model_dirs] if model_dirs else
            [(d, model) for d in datasets])
    rows, nacs = [], {}
    for dataset, which in runs:
        name, dataset, results = _evaluate(out_dir, dataset, which, budget)
        it, n = results["iteration"], results["num_samples"]
        row = [f"{name} ({dataset})", it, n]
        scores = results["memorization"]
        # evaluate() names the feature space by its `features` setting.
        space_keys = ("pixel", next(k for k in scores if k != "pixel"))
        for space, key in zip(("pixel", "inception"), space_keys):
            for pair in _PAIRS:
                value = scores[key][pair]
                report.result(dataset, name, f"{space}_{pair}", value, it, n,
                              budget.protocol if space != "pixel"
                              else "pixels")
                row.append(value)
        rows.append(row + [formatting.fmt(results["nac"])])
        nacs[f"{name} ({dataset})"] = results["nac"]
    report.table(["model", "iterations", "N"] + [f"PMS {p}" for p in _PAIRS]
                 + [f"IMS {p}" for p in _PAIRS] + ["NAC"], rows,
                 "PMS: pixel space; IMS: " + budget.protocol + ".")
    plots.nac_figure(report, "nac.png", nacs, f"N = {num_samples}")
    report.write()
