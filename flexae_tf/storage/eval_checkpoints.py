"""Evaluation checkpoints: inference-only snapshots apart from the resume
checkpoints (which keep only the newest few), never deleted.

Training writes them (`flexae_tf.training.evaluation_checkpoints`);
evaluation lists and restores them (`flexae_tf.evaluation.selection`).
"""

import os
import re

from absl import logging
import tensorflow as tf

from flexae_tf.storage import checkpoints

DIRECTORY = "eval_checkpoints"
_PREFIX = re.compile(r"ckpt-(\d+)$")


def inference_checkpoint(model):
    """The checkpoint object of the networks inference needs."""
    return tf.train.Checkpoint(**model.trackables(inference_only=True))


def list_checkpoints(model_dir, min_iteration=0):
    """[(iteration, prefix)] to evaluate, oldest first.

    The evaluation checkpoints when there are any; otherwise the resume
    checkpoints still on disk (with a warning: they are only the newest
    few, not a window).
    """
    directory = os.path.join(model_dir, DIRECTORY)
    found = []
    for index in tf.io.gfile.glob(os.path.join(directory, "ckpt-*.index")):
        match = _PREFIX.search(index[:-len(".index")])
        if match:
            found.append((int(match.group(1)), index[:-len(".index")]))
    if not found:
        state = tf.train.get_checkpoint_state(
            os.path.join(model_dir, checkpoints.CHECKPOINT_DIR))
        for prefix in (state.all_model_checkpoint_paths if state else []):
            match = re.search(r"-(\d+)$", prefix)
            if match and tf.io.gfile.exists(prefix + ".index"):
                found.append((int(match.group(1)), prefix))
        if found:
            logging.warning(
                "No evaluation checkpoints in %s (add the "
                "EvaluationCheckpoints callback when training); "
                "using the %d resume checkpoints instead.", directory,
                len(found))
    found = sorted(p for p in found if p[0] >= min_iteration)
    if not found:
        raise checkpoints.CheckpointError(
            f"No checkpoint at iteration >= {min_iteration} in {model_dir}.")
    return found


def restore(model, prefix):
    """Loads the inference networks of checkpoint `prefix` into `model`.

    prefix None: the model is evaluated as loaded (a `.keras` file).

    Raises:
      checkpoints.CorruptCheckpoint: unreadable, truncated or non-finite.
      checkpoints.CheckpointMismatch: networks of other shapes.
    """
    if prefix is None:
        return int(model.iteration.numpy())
    checkpoints.verify(prefix)  # Every tensor read back, NaN/inf refused.
    try:
        # read() is write()'s counterpart: no save counter to match.
        status = inference_checkpoint(model).read(prefix)
        status.assert_existing_objects_matched().expect_partial()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise checkpoints.CheckpointMismatch(
            f"{prefix} does not fit the run's model "
            f"({str(e).strip().splitlines()[0]}).") from e
    return int(model.iteration.numpy())
