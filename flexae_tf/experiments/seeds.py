"""The summary over seeds of a suite run once per seed (--seeds)."""

import csv
import os

import numpy as np

from flexae_tf.core import files
from flexae_tf.experiments import claims
from flexae_tf.experiments import formatting
from flexae_tf.experiments import plots
from flexae_tf.experiments import report

SEED_CSV_FIELDS = report.CSV_FIELDS + ("std", "n", "seed_values")


def seed_summary(suite, out_dir, seed_dirs, title):
    """Mean, standard deviation and count over seeds of every result row.

    Rows of the seeds' results.csv files that agree on dataset, model,
    metric, iterations, N and features are pooled. Writes
    <out_dir>/report.md (each seed's last row of every metric, which is
    the chosen checkpoint's where one was chosen, as mean +- sd with each
    seed's iteration and value, links to the seeds' own reports and the
    verdicts of the suite's pre-registered claims, `claims.CLAIMS`), a
    results.csv with `value` = mean plus `std` (sample standard deviation,
    ddof = 1), `n` and `seed_values`, and one mean-curve plot per metric
    recorded at several iterations.

    Args:
      suite: suite name (the CSV's `suite` column).
      out_dir: directory of the summary.
      seed_dirs: {seed: directory with that seed's report.md, results.csv}.
      title: the report's heading.

    Returns:
      {(dataset, model, metric, iterations): (mean, std, [values])}.
    """
    summary, rows = _pool(suite, seed_dirs)
    os.makedirs(out_dir, exist_ok=True)
    files.write_csv(os.path.join(out_dir, "results.csv"), SEED_CSV_FIELDS,
                    rows)
    seeds = sorted(seed_dirs)
    lines = [f"# {title}", "", report.machine_line(), "",
             f"Seeds {', '.join(map(str, seeds))} (n = {len(seeds)}); "
             "mean +- sample standard deviation over seeds, each seed's "
             "value beside it. Every seed's own report, with its settings, "
             "pictures and per-model wall time:", ""]
    lines += [f"- [seed {s}]({os.path.relpath(seed_dirs[s], out_dir)}/"
              "report.md)" for s in seeds]
    # Each seed's own last row: a checkpoint chosen on validation sits at
    # another iteration in each seed, and pooling by iteration would show
    # only the seeds that happened to choose the latest one.
    chosen = last_per_seed(seed_dirs)
    table = []
    for (dataset, model, metric), per_seed in chosen.items():
        present = [s for s in seeds if s in per_seed]
        iterations = [per_seed[s][0] for s in present]
        values = np.array([per_seed[s][1] for s in present])
        std = _sample_std(values)
        listed = " / ".join(formatting.fmt(v) for v in values)
        if len(present) < len(seeds):
            listed += f" (seeds {', '.join(map(str, present))})"
        table.append([
            dataset, model, metric,
            " / ".join(map(str, iterations))
            if len(set(iterations)) > 1 else iterations[0],
            f"{formatting.fmt(float(values.mean()))} +- "
            f"{formatting.fmt(std, 2)}", listed])
    lines += ["", formatting.markdown_table(
        ["dataset", "model", "metric", "iterations", "mean +- sd",
         "per seed"], table), ""]
    lines += claims.verdict_lines(suite, chosen)
    for metric in sorted({m for _, _, m in chosen}):
        lines += _mean_curve(suite, out_dir, summary, metric, seeds)
    files.write_atomically(os.path.join(out_dir, "report.md"),
                           "\n".join(lines))
    return summary


def last_per_seed(seed_dirs):
    """{(dataset, model, metric): {seed: (iteration, value)}}: each seed's
    row at the highest iteration of each metric (what its tables show)."""
    last = {}
    for seed, row in _seed_rows(seed_dirs):
        values = last.setdefault(
            (row["dataset"], row["model"], row["metric"]), {})
        iteration = int(row["iterations"])
        if iteration >= values.get(seed, (-1, None))[0]:
            values[seed] = (iteration, float(row["value"]))
    return last


def _seed_rows(seed_dirs):
    """(seed, row) of every seed's results.csv, seeds in order."""
    for seed, directory in sorted(seed_dirs.items()):
        with open(os.path.join(directory, "results.csv")) as f:
            for row in csv.DictReader(f):
                yield seed, row


def _pool(suite, seed_dirs):
    """(summary as seed_summary returns it, rows of the summary's CSV)."""
    pooled = {}
    for seed, row in _seed_rows(seed_dirs):
        key = tuple(row[k] for k in ("dataset", "model", "metric",
                                     "iterations", "num_samples", "features"))
        pooled.setdefault(key, []).append((seed, float(row["value"])))
    summary, rows = {}, []
    for key, values in pooled.items():
        numbers = np.array([v for _, v in values])
        std = _sample_std(numbers)
        dataset, model, metric, iterations, num_samples, features = key
        summary[(dataset, model, metric, int(iterations))] = (
            float(numbers.mean()), std, numbers.tolist())
        rows.append(dict(zip(report.CSV_FIELDS, (
            suite, dataset, model, metric, float(numbers.mean()),
            iterations, num_samples, features)),
            std=std, n=len(numbers),
            seed_values=" ".join(f"{s}:{v:.6g}" for s, v in values)))
    return summary, rows


def _sample_std(values):
    """Sample standard deviation (ddof = 1); NaN for a single value."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else np.nan


def _mean_curve(suite, out_dir, summary, metric, seeds):
    """Plots the mean of `metric` over iterations, if it has a curve;
    returns the report's lines for it.

    A point is drawn only where every seed has it: the scores of chosen
    checkpoints (one iteration per seed) are not a curve."""
    curves = {}
    for (dataset, model, name, iterations), (mean, _, values) in sorted(
            summary.items(), key=lambda item: item[0][3]):
        if name == metric and len(values) == len(seeds):
            x, y = curves.setdefault(f"{dataset} {model}", ([], []))
            x.append(iterations)
            y.append(mean)
    if max((len(x) for x, _ in curves.values()), default=0) < 2:
        return []
    filename = f"mean_{formatting.tag(metric)}.png"
    plots.plot_curves(os.path.join(out_dir, filename), curves, "iteration",
                      f"{metric}, mean of {len(seeds)} seeds",
                      f"{suite}: {metric}", log_y="fd" in metric.lower())
    return [f"![{metric}]({filename})", "",
            f"*{metric} over iterations, mean of seeds "
            f"{', '.join(map(str, seeds))}.*", ""]
