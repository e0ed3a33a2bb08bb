"""A suite's report: Markdown, the results CSV and the HParams runs.

A suite writes `<out>/<suite>/report.md` (Markdown tables and the plots),
`results.csv` (one row per number, each with its iterations and sample
count N), PNG plots (`plots`) and `tensorboard/` (`hparams`).
"""

import os

from absl import logging
import tensorflow as tf

from flexae_tf.core import cpu
from flexae_tf.core import files
from flexae_tf.experiments import formatting
from flexae_tf.experiments import hparams

CSV_FIELDS = ("suite", "dataset", "model", "metric", "value", "iterations",
              "num_samples", "features")


def machine_line():
    """Where the numbers were computed: every report states it."""
    accelerators = [d.name for d in tf.config.list_physical_devices()
                    if d.device_type != "CPU"]
    return (f"Machine: {cpu.describe()}; TensorFlow {tf.__version__}; "
            f"accelerators: {', '.join(accelerators) or 'none'}. Models and "
            "evaluations reused from an earlier run of the same command "
            "were computed where that run was.")


class Report:
    """Accumulates Markdown and CSV rows; `write` saves both atomically."""

    def __init__(self, suite, out_dir, title):
        self.suite, self.out_dir = suite, out_dir
        self.lines = [f"# {title}", "", machine_line(), ""]
        self.rows = []
        os.makedirs(out_dir, exist_ok=True)

    def text(self, *lines):
        self.lines += list(lines) + [""]

    def table(self, headers, rows, caption=None):
        if caption:
            self.lines += [caption, ""]
        self.lines += [formatting.markdown_table(headers, rows), ""]

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
        files.write_csv(os.path.join(self.out_dir, "results.csv"),
                        CSV_FIELDS, self.rows)
        hparams.write_hparams(self.suite, self.out_dir, self.rows)
        logging.info("Wrote %s/report.md and results.csv", self.out_dir)
