"""How an image suite reports a model's distances (FID, KID, PRD, NAC).

Its table row (`distance_row`, under `distance_headers`), its CSV rows in
the report, and its learning curve (`curve_rows`, `curve_figure`).
"""

import os

from flexae_tf.experiments import formatting
from flexae_tf.experiments import paired
from flexae_tf.experiments import plots


def curve_rows(report, dataset, name, results, budget):
    """CSV rows of the learning curve; returns it as ([iterations], [gen]).

    The points are `budget.curve_label` distances. Where that is also the
    tables' metric, the final value ends the curve, so `seeds.seed_summary`
    plots the mean over seeds of one metric up to the tables' number.
    """
    it, n = results["iteration"], results["num_samples"]
    curve = dict(results["curve"])
    if budget.curve_in_table_space:  # (it: the checkpoint scored)
        curve[it] = results[budget.distance]["generation"]
    for step, value in sorted(curve.items()):
        report.result(dataset, name, f"generation_{budget.curve_label}",
                      value, step, n, budget.curve_protocol)
    return sorted(curve), [curve[k] for k in sorted(curve)]


def curve_figure(report, filename, curves, dataset, budget):
    """The learning-curve figure of one dataset, if models logged curves."""
    if max((len(x) for x, _ in curves.values()), default=0) < 2:
        return
    plots.plot_curves(os.path.join(report.out_dir, filename), curves,
                      "iteration", f"generation {budget.curve_label}",
                      f"{dataset}: learning curves, N = "
                      f"{budget.num_samples}", log_y=True)
    report.figure(filename, f"{dataset}: generation {budget.curve_label} "
                  f"during training (train.eval_interval), N = "
                  f"{budget.num_samples}; the budget should be past the "
                  "steep part.")


def distance_row(report, dataset, name, results, budget, prd=False,
                 curves=None):
    """Table row + CSV rows for the FID (and PRD) numbers of one model.

    With `curves` (a dict), also the model's learning curve, into
    curves[name]. The row ends with the curve's flatness check.
    """
    it, n = results["iteration"], results["num_samples"]
    fids = results[budget.distance]
    steps, values = curve_rows(report, dataset, name, results, budget)
    if curves is not None:
        curves[name] = (steps, values)
    report.result(dataset, name, f"reconstruction_{budget.label}",
                  fids["reconstruction"], it, n, budget.protocol)
    report.result(dataset, name, f"generation_{budget.label}",
                  fids["generation"], it, n, budget.protocol)
    # evaluate() adds KID (unbiased at any N) where N is below FID's
    # reliable 10,000; the CSV and the seed summary carry it.
    for kind, value in (results.get("kid", {}).items()
                        if budget.distance == "fid" else ()):
        report.result(dataset, name, f"{kind}_{budget.kid_label}", value,
                      it, n, budget.protocol)
    report.result(dataset, name, "nac", results["nac"], it, n, "codes")
    row = [name, it, n, fids["reconstruction"], fids["generation"]]
    if prd:
        for key in ("precision", "recall"):
            report.result(dataset, name, key, results["prd"][key], it, n,
                          budget.protocol)
            row.append(results["prd"][key])
    return row + [paired.describe_flatness(dict(zip(steps, values))),
                  f"{formatting.fmt(results['nac'])} "
                  f"({results['nac_dimensions']})",
                  f"{results['train_seconds']:.0f}"]


def distance_headers(budget, prd=False):
    """The headers of `distance_row`'s rows."""
    return (["model", "iterations", "N", f"recon {budget.label}",
             f"gen {budget.label}"] + (["precision", "recall"] if prd else [])
            + [f"gen. {budget.curve_label}, change over the last 20 %",
               "NAC (dims)", "train seconds"])
