"""The Keras callback that writes evaluation checkpoints over a window."""

import os

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.core import files
from flexae_tf.storage import eval_checkpoints
from flexae_tf.storage import guard


@gin.configurable(denylist=["model_dir", "num_iterations"])
class EvaluationCheckpoints(keras.callbacks.Callback):
    """Keras callback keeping evaluation checkpoints over a window.

    Add it to `Model.fit`'s callbacks (the trainer passes its model_dir,
    the chief's output directory, and train.num_iterations). It reads
    `model.iteration` after each batch and saves at every multiple of
    `interval` inside the window and at the last iteration.
    """

    def __init__(self, model_dir, num_iterations, interval=2000,
                 window=0.4):
        """Args:
          model_dir: the run's directory (checkpoints go to
            `<model_dir>/eval_checkpoints/`).
          num_iterations: the run's total iterations.
          interval: iterations between evaluation checkpoints.
          window: fraction of training, at its end, that is kept: 0.4
            keeps iterations >= 0.6 * num_iterations (the authors kept
            80k..130k of 130k, about 0.38).
        """
        super().__init__()
        errors.check_positive("EvaluationCheckpoints.", interval=interval,
                              num_iterations=num_iterations)
        if not 0.0 < window <= 1.0:
            raise errors.UserError(
                f"EvaluationCheckpoints.window={window!r}: must be in "
                "(0, 1].")
        self.directory = os.path.join(model_dir, eval_checkpoints.DIRECTORY)
        self.num_iterations = num_iterations
        self.interval = interval
        self.start = int(np.ceil((1.0 - window) * num_iterations))

    def due(self, iteration):
        """Whether `iteration` gets an evaluation checkpoint."""
        return iteration >= self.start and (
            iteration % self.interval == 0 or
            iteration == self.num_iterations)

    def on_train_batch_end(self, batch, logs=None):
        del batch, logs  # The iteration counter is the model's.
        iteration = int(self.model.iteration.numpy())
        if self.due(iteration):
            self.save(iteration)

    def save(self, iteration):
        """Writes ckpt-<iteration> (index last, so a crash leaves none).

        Batch ends come before the trainer's finiteness check at the
        boundary (callbacks.Boundary), so the weights are checked here
        too: non-finite ones are not written (the boundary then stops the
        run).

        Returns:
          The prefix written (or already there), None when not written.
        """
        final = os.path.join(self.directory, f"ckpt-{iteration}")
        if tf.io.gfile.exists(final + ".index"):
            return final
        checkpoint = eval_checkpoints.inference_checkpoint(self.model)
        try:
            guard.check_finite(self._variables(), final)
        except guard.NotFinite as e:
            logging.warning("Evaluation checkpoint skipped: %s", e)
            return None
        # The temporaries' name is the one files.remove_stale_temporaries
        # cleans after a kill -9.
        temp = files.temporary_path(final)
        try:
            tf.io.gfile.makedirs(self.directory)
            checkpoint.write(temp)
            for path in sorted(tf.io.gfile.glob(temp + ".*"),
                               key=lambda p: p.endswith(".index")):
                tf.io.gfile.rename(path, final + path[len(temp):],
                                   overwrite=True)
        except (OSError, tf.errors.OpError) as e:
            for path in tf.io.gfile.glob(temp + "*"):
                tf.io.gfile.remove(path)
            raise files.WriteError(
                f"Cannot write {final} ({str(e).strip().splitlines()[0]}): "
                "check that it is a writable directory with free space."
            ) from e
        logging.info("Evaluation checkpoint %s", final)
        return final

    def _variables(self):
        return guard.variables_of(self.model.trackables(inference_only=True))
