"""`baselines` suite (FlexAE paper, Tables 1, 2): every model, same budget.

Each model of `sheets.MODEL_SHEETS` on MNIST and Fashion-MNIST, trained
and evaluated by `training.run_model`: FID (or KID) and precision/recall.
"""

import os

import gin

from flexae_tf.experiments import budget as budget_lib
from flexae_tf.experiments import distances
from flexae_tf.experiments import paper
from flexae_tf.experiments import plots
from flexae_tf.experiments import report as report_lib
from flexae_tf.experiments import sheets
from flexae_tf.experiments import training

PAPER_HEADER = "paper: rec. / gen. FID; F_8 / F_1/8"
PAPER_CAPTION = ("Last column: FlexAE Tables 1 and 2, Inception FID and "
                 "PRD F_8 / F_1/8, which the paper prints under 'precision "
                 "/ recall' although F_8 is recall and F_1/8 precision by "
                 f"Sajjadi et al.'s definitions ({paper.PROTOCOL}): the "
                 "target, not a comparison at this budget.")


@gin.configurable(denylist=budget_lib.IMAGE_RUNNER_ARGS)
def baselines(out_dir, gin_files=(), gin_bindings=(),
              datasets=("mnist", "fashion_mnist"),
              models=tuple(sheets.MODEL_SHEETS), num_iterations=500,
              num_samples=2000, batch_size=64, features="projection",
              projection_dim=64, network_sheet=sheets.CPU_SHEET,
              curve_interval=100, select_on_validation=False,
              distance="fid", evaluate_fn=None):
    """Tables 1, 2: every model, same iterations, FID and precision/recall.

    `curve_interval`: as latent_dim's. `distance`: the tables' distance,
    "fid" (with KID in the CSV where N < 10,000) or "kid" (KID alone, at
    any N: Inception features for a few hundred images on a CPU). The
    other arguments: see `budget.Budget`.
    """
    budget_args = locals()
    budget_lib.check_names(datasets, models, features)
    budget = budget_lib.Budget.of(budget_args)
    report = report_lib.Report("baselines", out_dir,
                               "baselines: all models (Tables 1, 2)")
    report.text(budget.describe(), "Precision and recall: PRD F_1/8 and "
                "F_8 (Sajjadi et al. 2018) in the same feature space.")
    context = f"{num_iterations} iterations, N = {num_samples}"
    schedules = {}
    for dataset in datasets:
        rows, nacs, gen, learning = [], {}, {}, {}
        for name in models:
            results = training.run_model(out_dir, dataset, name, budget,
                                         (budget.distance, "prd"))
            rows.append(distances.distance_row(
                report, dataset, name, results, budget, prd=True,
                curves=learning) + [paper.baselines_cell(dataset, name)])
            nacs[name] = results["nac"]
            schedules.update(results["schedules"])
            gen[name] = results[budget.distance]["generation"]
        report.text(f"## {dataset}")
        report.table(distances.distance_headers(budget, prd=True)
                     + [PAPER_HEADER], rows, PAPER_CAPTION)
        plots.plot_bars(os.path.join(out_dir, f"generation_{dataset}.png"),
                        gen, f"generation {budget.label}", f"{dataset}, "
                        f"{context}")
        report.figure(f"generation_{dataset}.png", f"{dataset}: generation "
                      f"{budget.label}, {context}.")
        distances.curve_figure(report, f"learning_curves_{dataset}.png",
                               learning, dataset, budget)
        plots.nac_figure(report, f"nac_{dataset}.png", nacs,
                         f"{dataset}, {context}")
    if schedules:
        report.text(
            f"Budget-scaled schedules (the authors' values x "
            f"{budget.schedule_scale:.4g} = {num_iterations} / "
            f"{sheets.PAPER_ITERATIONS} iterations): " + "; ".join(
                f"{name} = {value}" for name, value in schedules.items())
            + ".")
    report.write()
