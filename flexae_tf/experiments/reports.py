"""What every experiment suite shares: gin, metrics, reports and plots.

A suite writes `<out>/<suite>/report.md` (Markdown tables and the plots),
`results.csv` (one row per number, each with its iterations and sample
count N) and PNG plots. Plots use matplotlib's Agg backend (no display).
"""

import csv
import json
import math
import os
import re

from absl import logging
import numpy as np

from flexae_tf.core import figures
from flexae_tf.core import files

CSV_FIELDS = ("suite", "dataset", "model", "metric", "value", "iterations",
              "num_samples", "features")


def nac(codes):
    """Mean absolute off-diagonal correlation of codes [n, m] (MaskAAE).

    Dimensions with (near) zero variance, e.g. switched off by a mask,
    have no correlation and are left out.

    Returns:
      (NAC, number of dimensions used); NAC is NaN with < 2 of them.
    """
    codes = np.asarray(codes, np.float64)
    active = codes.std(axis=0) > 1e-6 * max(codes.std(), 1e-12)
    if active.sum() < 2:
        return float("nan"), int(active.sum())
    corr = np.corrcoef(codes[:, active], rowvar=False)
    off = corr[~np.eye(len(corr), dtype=bool)]
    return float(np.mean(np.abs(off))), int(active.sum())


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, int)):
        return int(value)
    return float(value) if isinstance(value, (np.floating, float)) else value


def cached(path, key, compute):
    """compute() -> dict, memoised in the JSON file `path` under `key`."""
    cache = {}
    if os.path.exists(path):
        with open(path) as f:
            cache = json.load(f)
        if key in cache:
            logging.info("Reusing the results cached in %s", path)
            return cache[key]
    cache[key] = _jsonable(compute())
    files.write_atomically(path, json.dumps(cache, indent=1))
    return cache[key]


def fmt(value, digits=4):
    if isinstance(value, (float, np.floating)):
        return "n/a" if np.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    """Accumulates Markdown and CSV rows; `write` saves both atomically."""

    def __init__(self, suite, out_dir, title):
        self.suite, self.out_dir = suite, out_dir
        self.lines = [f"# {title}", ""]
        self.rows = []
        os.makedirs(out_dir, exist_ok=True)

    def text(self, *lines):
        self.lines += list(lines) + [""]

    def table(self, headers, rows, caption=None):
        if caption:
            self.lines += [caption, ""]
        self.lines += [markdown_table(headers, rows), ""]

    def figure(self, filename, caption):
        self.lines += [f"![{caption}]({filename})", "", f"*{caption}*", ""]

    def result(self, dataset, model, metric, value, iterations, num_samples,
               features=""):
        self.rows.append(dict(
            suite=self.suite, dataset=dataset, model=model, metric=metric,
            value=value, iterations=iterations, num_samples=num_samples,
            features=features))

    def write(self):
        files.write_atomically(os.path.join(self.out_dir, "report.md"),
                      "\n".join(self.lines))
        path = os.path.join(self.out_dir, "results.csv")
        files.write_csv(path, CSV_FIELDS, self.rows)
        self._write_hparams()
        logging.info("Wrote %s/report.md and results.csv", self.out_dir)

    def _write_hparams(self):
        """One TensorBoard run per (dataset, model) for the HParams tab.

        `tensorboard --logdir <out>/<suite>/tensorboard` then lists every
        row's settings beside its metrics (logged at its iteration).
        """
        # pylint: disable=g-import-not-at-top
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hparams_api
        # pylint: enable=g-import-not-at-top
        runs = {}
        for row in self.rows:
            runs.setdefault((row["dataset"], row["model"]), []).append(row)
        for (dataset, model), rows in runs.items():
            run_dir = os.path.join(self.out_dir, "tensorboard", _tag(
                f"{dataset}_{model}").replace("/", "_"))
            writer = tf.summary.create_file_writer(run_dir)
            with writer.as_default():
                hparams_api.hparams({
                    "suite": self.suite, "dataset": dataset, "model": model,
                    "iterations": int(rows[0]["iterations"]),
                    "num_samples": int(rows[0]["num_samples"]),
                    "features": str(rows[0]["features"])},
                    trial_id=f"{dataset}/{model}")
                for row in rows:
                    value = row["value"]
                    if isinstance(value, (int, float)) and math.isfinite(
                            value):
                        tf.summary.scalar(_tag(row["metric"]), value,
                                          step=int(row["iterations"]))
            writer.close()


def _tag(name):
    """A TensorBoard-safe tag: FD[proj-64] -> FD_proj-64_."""
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", str(name))


def plot_curves(path, curves, xlabel, ylabel, title, log_y=False):
    """Line plot of {label: (x [n], y [n])}; log_y for distances."""
    plt = figures.pyplot()
    figure, ax = plt.subplots(figsize=(5, 3.5))
    for label, (x, y) in curves.items():
        ax.plot(x, y, marker=".", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if log_y:
        ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    figures.save(figure, path)


def plot_bars(path, values, ylabel, title):
    """Bar chart of {label: value}."""
    plt = figures.pyplot()
    figure, ax = plt.subplots(figsize=(max(4, 0.9 * len(values)), 3.5))
    labels = list(values)
    ax.bar(range(len(labels)), [values[k] for k in labels])
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    figures.save(figure, path)


def nac_figure(report, filename, nacs, context):
    """The NAC figure: one bar per model; `context` names iterations, N."""
    plot_bars(os.path.join(report.out_dir, filename), nacs,
              "NAC (mean |off-diagonal corr|)",
              f"Latent code correlation, {context}")
    report.figure(filename, f"NAC of encoded test codes, {context}.")


def plot_scatter_grid(path, panels, title=""):
    """Rows of 2-d scatter panels: [(row title, [(points [n, 2], label)])].

    Each row is one model; each panel is titled "row title / label".
    """
    plt = figures.pyplot()
    columns = max(len(points) for _, points in panels)
    figure, axes = plt.subplots(len(panels), columns, squeeze=False,
                                figsize=(3.2 * columns, 3.0 * len(panels)))
    for row, (row_title, points) in enumerate(panels):
        for col, (xy, label) in enumerate(points):
            ax = axes[row, col]
            xy = np.asarray(xy)
            ax.scatter(xy[:, 0], xy[:, 1], s=2, alpha=0.4)
            ax.set_title(f"{row_title}\n{label}", fontsize=8)
            ax.tick_params(labelsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figures.save(figure, path)


SEED_CSV_FIELDS = CSV_FIELDS + ("std", "n", "seed_values")


def seed_summary(suite, out_dir, seed_dirs, title):
    """Mean, standard deviation and count over seeds of every result row.

    Rows of the seeds' results.csv files that agree on dataset, model,
    metric, iterations, N and features are pooled. Writes
    <out_dir>/report.md (the last iteration of every metric as mean +- sd
    with each seed's value, and links to the seeds' own reports), a
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
    pooled = {}
    for seed, directory in sorted(seed_dirs.items()):
        with open(os.path.join(directory, "results.csv")) as f:
            for row in csv.DictReader(f):
                key = tuple(row[k] for k in (
                    "dataset", "model", "metric", "iterations",
                    "num_samples", "features"))
                pooled.setdefault(key, []).append((seed, float(row["value"])))
    summary, rows = {}, []
    for key, values in pooled.items():
        numbers = np.array([v for _, v in values])
        std = float(np.std(numbers, ddof=1)) if len(numbers) > 1 else np.nan
        dataset, model, metric, iterations, num_samples, features = key
        summary[(dataset, model, metric, int(iterations))] = (
            float(numbers.mean()), std, numbers.tolist())
        rows.append(dict(zip(CSV_FIELDS, (
            suite, dataset, model, metric, float(numbers.mean()),
            iterations, num_samples, features)),
            std=std, n=len(numbers),
            seed_values=" ".join(f"{s}:{v:.6g}" for s, v in values)))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "results.csv")
    files.write_csv(path, SEED_CSV_FIELDS, rows)

    seeds = sorted(seed_dirs)
    lines = [f"# {title}", "",
             f"Seeds {', '.join(map(str, seeds))} (n = {len(seeds)}); "
             "mean +- sample standard deviation over seeds, each seed's "
             "value beside it. Every seed's own report, with its settings, "
             "pictures and per-model wall time:", ""]
    lines += [f"- [seed {s}]({os.path.relpath(seed_dirs[s], out_dir)}/"
              "report.md)" for s in seeds]
    last = {}
    for (dataset, model, metric, iterations) in summary:
        head = (dataset, model, metric)
        last[head] = max(last.get(head, iterations), iterations)
    table = []
    for (dataset, model, metric), iterations in last.items():
        mean, std, values = summary[(dataset, model, metric, iterations)]
        table.append([dataset, model, metric, iterations,
                      f"{fmt(mean)} +- {fmt(std, 2)}",
                      " / ".join(fmt(v) for v in values)])
    lines += ["", markdown_table(
        ["dataset", "model", "metric", "iterations", "mean +- sd",
         "per seed"], table), ""]
    for metric in sorted({m for _, _, m in last}):
        curves = {}
        for (dataset, model, name, iterations), (mean, _, _) in sorted(
                summary.items(), key=lambda item: item[0][3]):
            if name == metric:
                x, y = curves.setdefault(f"{dataset} {model}", ([], []))
                x.append(iterations)
                y.append(mean)
        if max(len(x) for x, _ in curves.values()) < 2:
            continue
        filename = f"mean_{_tag(metric)}.png"
        plot_curves(os.path.join(out_dir, filename), curves, "iteration",
                    f"{metric}, mean of {len(seeds)} seeds",
                    f"{suite}: {metric}", log_y="fd" in metric.lower())
        lines += [f"![{metric}]({filename})", "",
                  f"*{metric} over iterations, mean of seeds "
                  f"{', '.join(map(str, seeds))}.*", ""]
    files.write_atomically(os.path.join(out_dir, "report.md"),
                           "\n".join(lines))
    return summary
