"""A report's numbers as TensorBoard runs for the HParams tab."""

import math
import os

from flexae_tf.experiments import formatting


def write_hparams(suite, out_dir, rows):
    """One TensorBoard run per (dataset, model) of the report's rows.

    `tensorboard --logdir <out>/<suite>/tensorboard` then lists every
    row's settings beside its metrics (logged at its iteration).
    """
    # pylint: disable=g-import-not-at-top
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams_api
    # pylint: enable=g-import-not-at-top
    runs = {}
    for row in rows:
        runs.setdefault((row["dataset"], row["model"]), []).append(row)
    for (dataset, model), model_rows in runs.items():
        run_dir = os.path.join(out_dir, "tensorboard", formatting.tag(
            f"{dataset}_{model}").replace("/", "_"))
        writer = tf.summary.create_file_writer(run_dir)
        with writer.as_default():
            first = model_rows[0]
            hparams_api.hparams({
                "suite": suite, "dataset": dataset, "model": model,
                "iterations": int(first["iterations"]),
                "num_samples": int(first["num_samples"]),
                "features": str(first["features"])},
                trial_id=f"{dataset}/{model}")
            for row in model_rows:
                value = row["value"]
                if isinstance(value, (int, float)) and math.isfinite(value):
                    tf.summary.scalar(formatting.tag(row["metric"]), value,
                                      step=int(row["iterations"]))
        writer.close()
