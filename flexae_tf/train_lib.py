"""The training loop: strategy, data, model, checkpoints, summaries.

Iterations run in chunks inside one `tf.function` (a `tf.range` loop around
`strategy.run(model.train_step)`), so the host only syncs at chunk ends:
the next log, picture or checkpoint boundary.
"""

import os
import time

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from flexae_tf import accelerate
from flexae_tf import checkpoints
from flexae_tf import data
from flexae_tf import distribute
from flexae_tf import errors
from flexae_tf.metrics import model_metrics
from flexae_tf.models import factory
from flexae_tf import paths
from flexae_tf import precision as precision_lib
from flexae_tf import summaries


class TrainingDiverged(errors.UserError):
    """A loss became NaN or infinite."""


def make_train_function(model, strategy, jit_compile=False):
    """tf.function running `num_iterations` iterations on `iterator`."""
    step = (tf.function(model.train_step, jit_compile=True) if jit_compile
            else model.train_step)

    @tf.function
    def run(iterator, num_iterations):
        for _ in tf.range(num_iterations):
            strategy.run(step, args=(next(iterator),))

    return run


def read_logs(model):
    """Host-side means since the last read; resets the trackers."""
    logs = {name: float(tracker.result())
            for name, tracker in model.trackers.items()}
    for tracker in model.trackers.values():
        tracker.reset_state()
    return logs


class Progress:
    """Iterations/s, images/s and ETA over the run."""

    def __init__(self, start, total, images_per_iteration):
        self.start, self.total = start, total
        self.images_per_iteration = images_per_iteration
        self.last_time, self.last_iteration = time.time(), start
        self.rate = None

    def update(self, iteration):
        now = time.time()
        rate = (iteration - self.last_iteration) / max(now - self.last_time,
                                                       1e-9)
        # Smoothed, so one slow chunk (tracing, a checkpoint) does not
        # swing the ETA.
        self.rate = rate if self.rate is None else 0.7 * self.rate + 0.3 * rate
        self.last_time, self.last_iteration = now, iteration
        return rate

    def line(self, iteration, logs):
        eta = (self.total - iteration) / max(self.rate, 1e-9)
        losses = " ".join(f"{k}={v:.4g}" for k, v in logs.items())
        return (f"iteration {iteration}/{self.total} "
                f"({100.0 * iteration / self.total:.1f}%) | "
                f"{self.rate:.2f} it/s, "
                f"{self.rate * self.images_per_iteration:.0f} images/s | "
                f"ETA {time.strftime('%H:%M:%S', time.gmtime(eta))} | "
                f"{losses}")


class Previews:
    """Fixed inputs for the pictures written during training."""

    def __init__(self, model, dataset, seed, num_images=64, num_pairs=8,
                 num_steps=10, num_scatter=500):
        try:
            batches = data.eval_batches(dataset, "test", num_scatter)
        except data.DataError:
            batches = data.eval_batches(dataset, "train", num_scatter)
        self.model = model
        self.images = next(iter(batches))
        self.num_images, self.num_pairs = num_images, num_pairs
        self.num_steps = num_steps
        self.noise = tf.random.stateless_normal(
            (max(num_images, self.images.shape[0]), model.noise_dim),
            seed=[seed, 1])

    def write(self, step, out_dir):
        model, real = self.model, self.images[:self.num_images]
        summaries.write_grid("real", real, step, out_dir)
        summaries.write_grid("reconstructions", model.reconstruct(real), step,
                             out_dir)
        samples = model.generate(self.noise[:self.num_images])
        summaries.write_grid("samples", samples, step, out_dir)
        pairs = self.images[:2 * self.num_pairs]
        rows = model.interpolate(pairs[0::2], pairs[1::2], self.num_steps)
        summaries.write_grid(
            "interpolations",
            np.reshape(rows, (-1,) + model.image_shape), step, out_dir,
            columns=self.num_steps)
        codes = model.encode(self.images)
        prior = model.prior_codes(self.noise[:codes.shape[0]])
        summaries.write_image(
            "latent_scatter",
            summaries.latent_scatter(codes, prior, f"iteration {step}"),
            step, out_dir)


def _check_finite(logs, start, end, manager):
    bad = [name for name, value in logs.items() if not np.isfinite(value)]
    if bad:
        raise TrainingDiverged(
            f"Loss {', '.join(bad)} is not finite between iterations "
            f"{start} and {end}; stopped. The last good checkpoint "
            f"({manager.latest_checkpoint}) is kept. Lower the learning "
            "rates or check the data.")


class _Outputs:
    """What the run writes at chunk boundaries: logs, pictures, checkpoints.

    The loop only stops at these boundaries, so they are the only host
    syncs of a run.
    """

    def __init__(self, model, dataset, seed, out_dir, manager, intervals,
                 evaluation_settings):
        self.model, self.dataset, self.manager = model, dataset, manager
        (self.log_interval, self.image_interval, self.checkpoint_interval,
         self.eval_interval) = intervals
        self.eval_metrics, self.eval_num_samples = evaluation_settings
        self.images_dir = os.path.join(out_dir, "images")
        self.previews = Previews(model, dataset, seed)
        self.writer = tf.summary.create_file_writer(
            os.path.join(out_dir, "train"))

    def next_boundary(self, iteration, last):
        intervals = [k for k in (self.log_interval, self.image_interval,
                                 self.checkpoint_interval,
                                 self.eval_interval) if k]
        return min([last] + [(iteration // k + 1) * k for k in intervals])

    def write(self, iteration, logs, progress, done):
        rate = progress.update(iteration)
        due = lambda k: bool(k) and (iteration % k == 0 or done)
        with self.writer.as_default():
            if due(self.log_interval):
                logging.info(progress.line(iteration, logs))
                for name, value in logs.items():
                    tf.summary.scalar(f"losses/{name}", value, step=iteration)
                tf.summary.scalar("speed/iterations_per_second", rate,
                                  step=iteration)
            pictures, save = due(self.image_interval), due(
                self.checkpoint_interval)
            if (pictures or save) and hasattr(self.model, "fit_prior"):
                # Ex-post priors (AE/RAE + GMM) follow the current codes.
                self.model.fit_prior(data.eval_batches(
                    self.dataset, "train", 500, self.model.num_fit_images))
            if pictures:
                self.previews.write(iteration, self.images_dir)
            if save:
                self.manager.save(checkpoint_number=iteration)
            if self.eval_interval and iteration % self.eval_interval == 0:
                self._evaluate(iteration)
        self.writer.flush()

    def _evaluate(self, iteration):
        results = model_metrics.evaluate(
            self.model, self.dataset, self.eval_metrics,
            self.eval_num_samples, out_dir=self.images_dir, step=iteration)
        for name, value in model_metrics.flatten(results).items():
            tf.summary.scalar(f"eval/{name}", value, step=iteration)
        logging.info("Evaluation at iteration %d: %s", iteration, results)


def _restore(manager, model, path):
    if path is None:
        return 0
    try:
        manager.checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise checkpoints.CheckpointError(
            f"Checkpoint {path} does not match the current configuration "
            f"({str(e).splitlines()[0]}). Use a new --model_dir or the gin "
            "config the run was started with.") from e
    iteration = int(model.iteration.numpy())
    logging.info("Resumed from %s at iteration %d.", path, iteration)
    return iteration


@gin.configurable(denylist=["model_dir"])
def train(model_dir, dataset="mnist", num_iterations=10000, batch_size=64,
          log_interval=100, image_interval=1000, checkpoint_interval=1000,
          keep_checkpoints=3, jit_compile=False, strategy="mirrored",
          seed=0, eval_interval=0, eval_metrics=("fid",),
          eval_num_samples=10000, precision="float32"):
    """Trains FlexAE in model_dir, resuming from its latest checkpoint.

    Args:
      model_dir: checkpoints, TensorBoard events, pictures and gin config.
      dataset: data.IMAGE_SHAPES key.
      num_iterations: total iterations (each: 1 reconstruction update,
        critic_steps critic updates, then the generator-side updates).
      batch_size: global batch size.
      log_interval: iterations between loss logs and scalar summaries.
      image_interval: iterations between picture summaries.
      checkpoint_interval: iterations between checkpoints.
      keep_checkpoints: checkpoints kept on disk.
      jit_compile: compile the iteration with XLA: True, False or 'auto'
        (on when a GPU is visible; accelerate.py). With XLA on, compiled
        code is cached in <model_dir>/xla_cache for resumes.
      strategy: distribute.make_strategy name.
      seed: seed of initial weights, data order and preview noise (the
        training noise has its own, FlexAE.seed).
      eval_interval: iterations between evaluations (0: never; use
        `python -m flexae_tf.evaluate` after training instead).
      eval_metrics: metrics of the periodic evaluation (model_metrics.METRICS).
      eval_num_samples: N of the periodic model_metrics.
      precision: 'float32', 'mixed_bfloat16' or 'mixed_float16' (Keras
        dtype policy of the networks; precision.py).

    Returns:
      The trained model.

    Raises:
      TrainingDiverged: a loss became NaN/inf; the last good checkpoint
        stays in model_dir.
    """
    errors.check_positive(
        "train.", num_iterations=num_iterations, batch_size=batch_size,
        log_interval=log_interval, image_interval=image_interval,
        checkpoint_interval=checkpoint_interval,
        keep_checkpoints=keep_checkpoints)
    # First: TensorFlow reads TF_XLA_FLAGS when it first lists devices.
    xla_cache = accelerate.enable_compilation_cache(model_dir, jit_compile)
    jit_compile = accelerate.resolve_jit_compile(jit_compile, xla_cache)
    image_shape = data.image_shape(dataset)
    keras.utils.set_random_seed(seed)  # Initial weights.
    strategy = distribute.make_strategy(strategy)
    out_dir = distribute.output_dir(model_dir, strategy)
    with strategy.scope(), precision_lib.policy(precision):
        model = factory.make_model(image_shape)
        model.compile(jit_compile=jit_compile)
    # Non-chief checkpoints are never read back: keep one, not N.
    manager = checkpoints.manager(
        model, out_dir, keep_checkpoints if out_dir == model_dir else 1)
    # Every worker resumes from the chief's checkpoints (BackupAndRestore).
    start = _restore(manager, model, checkpoints.latest(model_dir))
    distribute.check_same_iteration(strategy, start)
    if start >= num_iterations:
        logging.info("Already trained for %d iterations.", start)
        return model
    if batch_size % strategy.num_replicas_in_sync:
        raise errors.UserError(
            f"train.batch_size={batch_size} is not divisible by the "
            f"{strategy.num_replicas_in_sync} replicas.")
    iterator = iter(strategy.distribute_datasets_from_function(
        lambda context: data.train_pipeline(
            dataset, batch_size, model.group_size, context,
            seed=seed + start)))
    run = make_train_function(model, strategy, jit_compile)
    average_replicas = distribute.replica_averager(
        strategy, model.non_trainable_variables)
    outputs = _Outputs(model, dataset, seed, out_dir, manager,
                       (log_interval, image_interval, checkpoint_interval,
                        eval_interval), (eval_metrics, eval_num_samples))
    progress = Progress(start, num_iterations,
                        batch_size * model.group_size)
    logging.info("Training %s from iteration %d to %d in %s (%d replicas).",
                 dataset, start, num_iterations, model_dir,
                 strategy.num_replicas_in_sync)
    iteration = start
    if jit_compile:
        accelerate.align_trace_names()  # Same cache key on resume.
    while iteration < num_iterations:
        target = outputs.next_boundary(iteration, num_iterations)
        run(iterator, tf.constant(target - iteration))
        average_replicas()
        logs = read_logs(model)
        _check_finite(logs, iteration, target, manager)
        if iteration == start:
            paths.write_atomically(
                os.path.join(out_dir, checkpoints.CONFIG_FILE),
                gin.operative_config_str())
        iteration = target
        outputs.write(iteration, logs, progress,
                      done=iteration == num_iterations)
    return model
