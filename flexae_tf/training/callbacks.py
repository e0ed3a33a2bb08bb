"""What a run does at its boundaries, as Keras callbacks for `Model.fit`.

`train_lib.train` makes one fit epoch span the smallest interval (the gcd
of the log, picture, checkpoint and evaluation intervals), and runs the
whole epoch in one `steps_per_execution` call, so epoch ends are exactly
the boundaries and the only host syncs. The callbacks run in list order:
`Boundary` first (replica sync, counter and finiteness checks), then
progress, pictures, checkpoints and evaluation; users' callbacks see the
losses in `logs` after them.
"""

import os
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from flexae_tf.storage import artifacts
from flexae_tf.storage import checkpoints
from flexae_tf.data import datasets as data
from flexae_tf.core import errors
from flexae_tf.core import files
from flexae_tf.core import progress
from flexae_tf.core import summaries
from flexae_tf.evaluation import model_metrics
from flexae_tf.models import interpolation


class TrainingDiverged(errors.UserError):
    """A loss or a weight became NaN or infinite."""


class CheckpointWriteError(errors.UserError):
    """A checkpoint could not be written (disk full, permissions)."""


class Boundary(keras.callbacks.Callback):
    """Replica sync and the checks every boundary must pass.

    Sets `logs` to the loss means since the previous boundary plus
    `iteration`. Raises before any later callback runs if the counter is
    not the boundary's, or if a loss or any variable is not finite, so no
    picture and no checkpoint is ever made of a diverged model.
    """

    def __init__(self, run, average_replicas):
        super().__init__()
        self.run = run
        self.average_replicas = average_replicas
        self._all_finite = None

    def on_train_begin(self, logs=None):
        variables = {}
        for item in self.model.trackables().values():
            for v in getattr(item, "variables", ()):
                if tf.as_dtype(v.dtype).is_floating:
                    variables[id(v)] = v
        variables = list(variables.values())
        self._all_finite = tf.function(lambda: tf.reduce_all(
            [tf.reduce_all(tf.math.is_finite(v)) for v in variables]))

    def on_epoch_end(self, epoch, logs=None):
        iteration = self.run.iteration_of(epoch)
        self.average_replicas()
        counted = int(self.model.iteration.numpy())
        if counted != iteration:
            raise RuntimeError(f"Iteration counter {counted} at the boundary "
                               f"of iteration {iteration}: a bug.")
        values = {name: float(tracker.result())
                  for name, tracker in self.model.trackers.items()}
        for tracker in self.model.trackers.values():
            tracker.reset_state()  # Means since the last boundary only.
        previous = self.run.iteration
        self.run.iteration, self.run.logs = iteration, values
        if logs is not None:
            logs.clear()
            logs.update(values, iteration=iteration)
        bad = [name for name, value in values.items()
               if not np.isfinite(value)]
        if not bad and not bool(self._all_finite()):
            bad = ["a weight"]
        if bad:
            kept = ""
            if self.run.manager is not None:
                kept = (" The last good checkpoint "
                        f"({self.run.manager.latest_checkpoint}) is kept.")
            raise TrainingDiverged(
                f"{self.run.name}: {', '.join(bad)} is not finite between "
                f"iterations {previous} and {iteration}; stopped.{kept} "
                "Lower the learning rates or check the data.")


class Progress(keras.callbacks.Callback):
    """Loss lines with iterations/s, images/s, ETA; loss scalars; config."""

    def __init__(self, run, images_per_iteration, config_text):
        super().__init__()
        self.run = run
        self.images_per_iteration = images_per_iteration
        self.config_text = config_text
        self.rate = None
        self.last_time = self.last_iteration = None

    def on_train_begin(self, logs=None):
        self.last_time, self.last_iteration = time.time(), self.run.iteration

    def on_epoch_end(self, epoch, logs=None):
        run, iteration = self.run, self.run.iteration
        now = time.time()
        rate = (iteration - self.last_iteration) / max(
            now - self.last_time, 1e-9)
        # Smoothed, so one slow chunk (tracing, a checkpoint) does not
        # swing the ETA.
        self.rate = rate if self.rate is None else 0.7 * self.rate + 0.3 * rate
        self.last_time, self.last_iteration = now, iteration
        if self.config_text is not None:
            # The operative config is complete once the step has been
            # traced and run, i.e. at the first boundary.
            text = self.config_text()
            files.write_atomically(
                os.path.join(run.out_dir, checkpoints.CONFIG_FILE), text)
            with run.writer.as_default():
                tf.summary.text("gin/operative_config",
                                "    " + text.replace("\n", "\n    "),
                                step=iteration)
            self.config_text = None
        if run.due(run.log_interval):
            logging.info(self.line(iteration, run.logs))
            with run.writer.as_default():
                for name, value in run.logs.items():
                    tf.summary.scalar(f"losses/{name}", value, step=iteration)
                tf.summary.scalar("speed/iterations_per_second", rate,
                                  step=iteration)
            run.writer.flush()

    def line(self, iteration, logs):
        return progress.line(iteration, self.run.num_iterations, self.rate,
                             logs, self.images_per_iteration)


class Previews(keras.callbacks.Callback):
    """Pictures at the image interval, from fixed inputs and noise."""

    def __init__(self, run, num_images=64, num_pairs=8, num_steps=10,
                 num_scatter=500):
        super().__init__()
        self.run = run
        self.num_images, self.num_pairs = num_images, num_pairs
        self.num_steps, self.num_scatter = num_steps, num_scatter
        self.images = self.noise = None

    def on_train_begin(self, logs=None):
        # The test split, read before the first iteration: a missing or
        # empty one is an error now, not a silent substitute.
        batches = data.eval_batches(self.run.dataset, "test",
                                    self.num_scatter)
        self.images = next(iter(batches))
        self.noise = tf.random.stateless_normal(
            (max(self.num_images, self.images.shape[0]),
             self.model.noise_dim), seed=[self.run.seed, 1])

    def on_epoch_end(self, epoch, logs=None):
        run = self.run
        pictures = run.due(run.image_interval)
        if ((pictures or run.due(run.checkpoint_interval))
                and hasattr(self.model, "fit_prior")):
            # Ex-post priors (AE/RAE + GMM) follow the current codes, for
            # the pictures and for the checkpoint.
            self.model.fit_prior(data.eval_batches(
                run.dataset, "train", 500, self.model.num_fit_images))
        if pictures:
            with run.writer.as_default():
                self.write(run.iteration,
                           os.path.join(run.out_dir, "images"))
            run.writer.flush()

    def write(self, step, out_dir):
        model, real = self.model, self.images[:self.num_images]
        summaries.write_grid("real", real, step, out_dir)
        summaries.write_grid("reconstructions", model.reconstruct(real), step,
                             out_dir)
        samples = model.generate(self.noise[:self.num_images])
        summaries.write_grid("samples", samples, step, out_dir)
        pairs = self.images[:2 * self.num_pairs]
        rows = model.interpolate(pairs[0::2], pairs[1::2], self.num_steps,
                                 interpolation.interpolation_method())
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


class Checkpoints(keras.callbacks.Callback):
    """Checkpoints (and `model.keras` on the chief) at their interval,
    and at the boundary after a SIGTERM/SIGINT (signals.py), then stops.

    Every worker runs the save (its ops are collective); non-chief workers
    write to their scratch directory (distribute.output_dir). A run that
    stops early (EarlyStopping) saves its last boundary at the end.
    """

    def __init__(self, run, chief):
        super().__init__()
        self.run, self.chief = run, chief
        self.saved = None

    def on_train_begin(self, logs=None):
        self.saved = self.run.iteration

    def on_epoch_end(self, epoch, logs=None):
        if (self.run.due(self.run.checkpoint_interval)
                or self.run.stop_signal is not None):
            self.save()
        if self.run.stop_signal is not None:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.run.iteration != self.saved:
            self.save()

    def save(self):
        manager, iteration = self.run.manager, self.run.iteration
        previous = manager.latest_checkpoint
        try:
            manager.save(checkpoint_number=iteration)
        except (OSError, tf.errors.OpError) as e:
            kept = (f"The previous checkpoint {previous} is intact: free "
                    "space and rerun to resume from it." if previous else
                    "No earlier checkpoint exists.")
            raise CheckpointWriteError(
                f"Cannot write the checkpoint of iteration {iteration} in "
                f"{manager.directory} ({str(e).strip().splitlines()[0]}); "
                f"disk full or not writable? {kept}") from e
        self.saved = iteration
        if self.chief:
            self._save_keras()

    def _save_keras(self):
        path = os.path.join(self.run.out_dir, artifacts.KERAS_FILE)
        try:
            artifacts.save(self.model, path)
        except (OSError, tf.errors.OpError) as e:
            raise CheckpointWriteError(
                f"Cannot write {path} ({str(e).strip().splitlines()[0]}); "
                "disk full? The checkpoint of this iteration is written: "
                "free space and rerun to resume.") from e


class Evaluation(keras.callbacks.Callback):
    """model_metrics.evaluate every eval_interval iterations."""

    def __init__(self, run, metrics, num_samples, features="inception"):
        super().__init__()
        self.run, self.metrics, self.num_samples = run, metrics, num_samples
        self.features = features

    def on_epoch_end(self, epoch, logs=None):
        run, iteration = self.run, self.run.iteration
        if not run.eval_interval or iteration % run.eval_interval:
            return
        results = model_metrics.evaluate(
            self.model, run.dataset, self.metrics, self.num_samples,
            features=self.features,
            out_dir=os.path.join(run.out_dir, "images"), step=iteration)
        with run.writer.as_default():
            for name, value in model_metrics.flatten(results).items():
                tf.summary.scalar(f"eval/{name}", value, step=iteration)
        run.writer.flush()
        logging.info("Evaluation at iteration %d: %s", iteration, results)
