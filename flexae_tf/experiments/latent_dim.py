"""`latent_dim` suite (FlexAE paper, Table 3): FID against latent size m.

WAE-GAN vs FlexAE-SR at m in {m_b, 2 m_b, 4 m_b}, each trained and
evaluated by `training.run_model`.
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


@gin.configurable(denylist=budget_lib.IMAGE_RUNNER_ARGS)
def latent_dim(out_dir, gin_files=(), gin_bindings=(), dataset="mnist",
               base_latent_dim=32, multipliers=(1, 2, 4),
               models=("WAE-GAN", "FlexAE-SR"), num_iterations=500,
               num_samples=2000, batch_size=64, features="projection",
               projection_dim=64, network_sheet=sheets.CPU_SHEET,
               curve_interval=100, select_on_validation=False,
               evaluate_fn=None):
    """Table 3: reconstruction and generation FID against latent size m.

    `curve_interval`: iterations between the learning-curve evaluations
    (0: none), FD on the trainer's 64-d projection whatever `features`
    is (`budget.curve_label`). The other arguments: see
    `budget.Budget`.
    """
    budget_args = locals()
    budget_lib.check_names([dataset], models, features)
    budget = budget_lib.Budget.of(budget_args)
    report = report_lib.Report(
        "latent_dim", out_dir,
        f"latent_dim: latent size m on {dataset} (Table 3)")
    report.text(budget.describe(), f"m_b = {base_latent_dim}.")
    rows, curves, nacs, learning = [], {}, {}, {}
    for name in models:
        for k in multipliers:
            m = k * base_latent_dim
            results = training.run_model(out_dir, dataset, name, budget,
                                         ("fid",), f"_m{m}",
                                         [f"LATENT_DIM = {m}"])
            rows.append([m] + distances.distance_row(
                report, dataset, f"{name} m={m}", results, budget,
                curves=learning) + [paper.latent_dim_cell(
                    dataset, name, m, base_latent_dim)])
            for kind in ("reconstruction", "generation"):
                xs, ys = curves.setdefault((kind, name), ([], []))
                xs.append(m)
                ys.append(results["fid"][kind])
            nacs[f"{name} m={m}"] = results["nac"]
    report.table(["m"] + distances.distance_headers(budget)
                 + ["paper: rec. / gen. FID"], rows,
                 f"Last column: FlexAE Table 3, Inception FID at the same "
                 f"m / m_b ({paper.PROTOCOL}): the target, not a comparison "
                 "at this budget.")
    context = f"{num_iterations} iterations, N = {num_samples}"
    for kind in ("reconstruction", "generation"):
        filename = f"{kind}_vs_m.png"
        plots.plot_curves(os.path.join(out_dir, filename),
                          {name: curves[(kind, name)] for name in models},
                          "latent size m", f"{kind} {budget.label}",
                          f"{dataset}, {context}")
        report.figure(filename, f"{kind} {budget.label} against m, "
                      f"{context}.")
    distances.curve_figure(report, "learning_curves.png", learning, dataset,
                           budget)
    plots.nac_figure(report, "nac.png", nacs, context)
    report.write()
    return rows
