"""Training and measuring the synthetic suites' models on in-memory data.

Models are trained by `train_lib.fit` (Model.fit, as image training) on an
in-memory tf.data pipeline; no checkpoints are written (a suite reruns in
minutes). Distances are Frechet distances on the raw 128-d data.
"""

import math
import time

from absl import logging
import keras
import tensorflow as tf

from flexae_tf.core import progress
from flexae_tf.metrics import codes as code_metrics
from flexae_tf.metrics import fid
from flexae_tf.training import callbacks
from flexae_tf.training import train_lib


def _pipeline(x, batch_size, group_size, seed):
    dataset = tf.data.Dataset.from_tensor_slices(x)
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat().batch(batch_size, drop_remainder=True)
    dataset = dataset.batch(group_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


class _History(keras.callbacks.Callback):
    """History points every eval_interval iterations (after Boundary)."""

    def __init__(self, run, eval_interval, evaluate):
        super().__init__()
        self.run, self.eval_interval = run, eval_interval
        self.evaluate = evaluate
        self.points, self.start = [], time.time()

    def on_epoch_end(self, epoch, logs=None):
        run = self.run
        if not run.due(self.eval_interval):
            return
        point = dict(iteration=run.iteration,
                     seconds=time.time() - self.start, **run.logs)
        point.update(self.evaluate(self.model))
        self.points.append(point)
        logging.info("%s", progress.line(
            run.iteration, run.num_iterations,
            run.iteration / point["seconds"],
            {k: v for k, v in point.items()
             if k not in ("iteration", "seconds")}, name=run.name))


def train_on_array(model, x, num_iterations, batch_size, eval_interval,
                   evaluate, seed=0, name="model"):
    """Trains a compiled model on rows of x; evaluates every eval_interval.

    Goes through `train_lib.fit` (Model.fit with the Boundary callback's
    replica sync and finiteness checks), like image training.

    Args:
      model: compiled model (FlexAE API) on vector data.
      x: float32 [n, d] training data.
      num_iterations, batch_size: budget.
      eval_interval: iterations between history points (and the last).
      evaluate: model -> dict of numbers, added to each history point.
      seed: data order.
      name: for progress lines.

    Returns:
      History: a list of {"iteration", "seconds", tracker means over the
      interval..., evaluate(model)...}.

    Raises:
      train_lib.TrainingDiverged: a loss or weight became NaN/inf.
    """
    run = train_lib.Run(name=name, iteration=0, num_iterations=num_iterations,
                        epoch_length=math.gcd(eval_interval, num_iterations))
    history = _History(run, eval_interval, evaluate)
    train_lib.fit(model, _pipeline(x, batch_size, model.group_size, seed),
                  run, [callbacks.Boundary(run, lambda: None), history])
    return history.points


def _final_metrics(model, data, num_samples):
    test = data.test[:num_samples]
    recon = model.reconstruct(test).numpy()
    codes = model.encode(test).numpy()
    nac, active = code_metrics.nac(codes)
    return {"reconstruction_fd": fid.frechet_distance_between(recon, test),
            "nac": nac, "nac_dimensions": active, "codes": codes}


def _generation_fd(data, num_samples, seed):
    test = data.test[:num_samples]
    return lambda model: {"generation_fd": fid.frechet_distance_between(
        model.sample(num_samples, seed=seed).numpy(), test)}


def train_models(builders, data, budget, suite, report):
    """Trains each builder's model; returns {name: (model, history, final)}."""
    results = {}
    for name, build in builders.items():
        keras.utils.set_random_seed(budget.seed)  # Same initial draws.
        model = build()
        model.compile()
        history = train_on_array(
            model, data.train, budget.num_iterations,
            budget.batch_size, budget.curve_interval,
            _generation_fd(data, budget.num_samples, budget.seed),
            budget.seed, f"{suite}/{name}")
        final = _final_metrics(model, data, budget.num_samples)
        results[name] = (model, history, final)
        n, it = budget.num_samples, history[-1]["iteration"]
        for point in history:
            report.result("synthetic", name, "generation_fd",
                          point["generation_fd"], point["iteration"], n,
                          "raw 128-d data")
            if "latent_wasserstein" in point:
                report.result("synthetic", name, "latent_wasserstein",
                              point["latent_wasserstein"], point["iteration"],
                              budget.batch_size, "latent codes")
        for metric in ("reconstruction_fd", "nac"):
            report.result("synthetic", name, metric, final[metric], it, n,
                          "raw 128-d data" if metric != "nac" else "codes")
    return results
