"""What a FlexAE checkpoint holds, and how a finished run is loaded back.

A training checkpoint holds every network, every optimizer (slots and
step counts), the iteration counter and the training random stream, under
stable names, so a resumed run continues exactly where it stopped.
"""

import os

from absl import logging
import gin
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from flexae_tf.data import datasets as data
from flexae_tf.core import errors
from flexae_tf.models import factory
from flexae_tf.storage import mismatch
from flexae_tf.storage import run_config

CONFIG_FILE = run_config.CONFIG_FILE
CHECKPOINT_DIR = "checkpoints"


class CheckpointError(errors.UserError):
    """No usable checkpoint; the message says what to do."""


class CheckpointMismatch(CheckpointError):
    """An intact checkpoint of another model than the configured one."""


class CorruptCheckpoint(CheckpointError):
    """A checkpoint that cannot be read back whole, or holds NaN/inf."""


def manager(model, model_dir, max_to_keep=3):
    """CheckpointManager over the full training state in model_dir.

    TensorFlow writes each checkpoint under a temporary name and renames
    it, and rewrites the index file atomically, so a run killed while
    saving leaves the previous checkpoint intact.
    """
    checkpoint = tf.train.Checkpoint(**model.trackables())
    return tf.train.CheckpointManager(
        checkpoint, os.path.join(model_dir, CHECKPOINT_DIR),
        max_to_keep=max_to_keep)


def _number(path):
    try:
        return int(path.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


def candidates(model_dir):
    """Checkpoint prefixes of model_dir, newest first.

    From the `checkpoint` state file, else (missing or unreadable) from
    the `*.index` files on disk.
    """
    directory = os.path.join(model_dir, CHECKPOINT_DIR)
    found = set()
    try:
        state = tf.train.get_checkpoint_state(directory)
    except (tf.errors.OpError, ValueError) as e:  # Garbled state file.
        logging.warning("Unreadable %s/checkpoint (%s); using the files.",
                        directory, e)
        state = None
    if state is not None:
        found.update(os.path.join(directory, os.path.basename(p))
                     for p in state.all_model_checkpoint_paths)
    else:
        found.update(p[:-len(".index")] for p in tf.io.gfile.glob(
            os.path.join(directory, "ckpt-*.index")))
    return sorted(found, key=_number, reverse=True)


def latest(model_dir):
    paths = candidates(model_dir)
    return paths[0] if paths else None


def verify(path):
    """Reads every tensor of a checkpoint (CRC-checked by TensorFlow).

    Raises:
      CorruptCheckpoint: a file is missing, truncated or fails its
        checksum, or a floating-point tensor holds NaN or inf.
    """
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            value = reader.get_tensor(name)
            if (isinstance(value, np.ndarray) and value.dtype.kind == "f"
                    and not np.all(np.isfinite(value))):
                raise CorruptCheckpoint(f"{path}: {name} is not finite")
    except CorruptCheckpoint:
        raise
    except Exception as e:  # pylint: disable=broad-except
        # Truncations surface as DataLossError, OutOfRangeError, or even
        # IndexError from the reader: all mean "cannot be read".
        raise CorruptCheckpoint(f"{path}: {errors.first_line(e)}") from e


def parts(path):
    """Top-level names stored in a checkpoint (encoder, ..._optimizer).

    Read from the object graph: variable names alone would miss a part
    whose variables are first reached through another one (an optimizer
    tracks the variables it updates, and names are walked in order).
    """
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(tf.train.load_checkpoint(path).get_tensor(
        "_CHECKPOINTABLE_OBJECT_GRAPH"))
    return {child.local_name for child in graph.nodes[0].children
            } - {"save_counter"}


def check_parts(path, expected):
    """Fails unless the checkpoint holds exactly the `expected` parts.

    Args:
      path: checkpoint prefix.
      expected: names of the configured model's trackables.

    Raises:
      CheckpointMismatch: naming the parts only one side has.
    """
    stored, wanted = parts(path), set(expected)
    unused = sorted(stored - wanted)
    missing = sorted(wanted - stored)
    if unused or missing:
        what = []
        if unused:
            what.append(f"it holds {', '.join(unused)}, which the configured "
                        "model does not have")
        if missing:
            what.append(f"it lacks {', '.join(missing)}")
        raise CheckpointMismatch(
            f"Checkpoint {path} is of another model: {'; '.join(what)}. "
            "Use the gin config the run was started with, a new "
            "--model_dir, or train.warm_start_from to start a new run from "
            "its weights.")


def restore(items, model_dir, expected=None, checkpoint=None):
    """Restores the newest intact checkpoint of model_dir into `items`.

    Corrupt checkpoints (unreadable or non-finite) are skipped with a
    warning naming them; a checkpoint of another model is an error, never
    skipped.

    Args:
      items: {name: trackable} to restore, e.g. the model's `trackables()`.
      model_dir: the run directory.
      expected: for a partial restore (inference networks only), the names
        of every part of the configured model, which the checkpoint must
        hold exactly. None: `items` is the full training state and must
        match the checkpoint exactly.

    Returns:
      The restored checkpoint prefix, or None when there is none.

    Raises:
      CheckpointMismatch: the newest intact checkpoint is of another model.
      CorruptCheckpoint: every checkpoint is corrupt.
    """
    bad = []
    for path in candidates(model_dir):
        try:
            verify(path)
        except CorruptCheckpoint as e:
            logging.warning("Skipping corrupt checkpoint %s", e)
            bad.append(str(e))
            continue
        check_parts(path, items if expected is None else expected)
        different = mismatch.check_shapes(items, path, model_dir)
        if different:
            raise CheckpointMismatch(different)
        try:
            # Shapes are checked as values are assigned: inside the try.
            status = (checkpoint or tf.train.Checkpoint(**items)).restore(
                path)
            if expected is None:
                status.assert_consumed()
            else:
                status.assert_existing_objects_matched().expect_partial()
        except (AssertionError, ValueError, tf.errors.OpError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise CheckpointMismatch(
                mismatch.describe(path, model_dir, first)) from e
        if bad:
            logging.warning("Restored %s instead of the corrupt %s.", path,
                            "; ".join(bad))
        return path
    if bad:
        raise CorruptCheckpoint(
            f"Every checkpoint in {model_dir} is corrupt ({'; '.join(bad)}). "
            "Use a new --model_dir or restore the files from a backup.")
    return None


def clean(model_dir):
    """Deletes what killed saves leave: `*_temp*` parts, unlisted files.

    Call only while holding the run lock (no save is running).
    """
    directory = os.path.join(model_dir, CHECKPOINT_DIR)
    if not tf.io.gfile.isdir(directory):
        return
    try:
        state = tf.train.get_checkpoint_state(directory)
    except (tf.errors.OpError, ValueError):
        return  # Keep everything: the files are the only record left.
    if state is None:
        return
    kept = {os.path.basename(p) for p in state.all_model_checkpoint_paths}
    for name in tf.io.gfile.listdir(directory):
        name = name.rstrip("/")
        prefix = name.split(".", 1)[0]
        orphan = ("_temp" in name or name.startswith("checkpoint.tmp")
                  or (name.startswith("ckpt-") and prefix not in kept))
        if orphan:
            path = os.path.join(directory, name)
            logging.info("Removing orphaned checkpoint file %s", path)
            if tf.io.gfile.isdir(path):
                tf.io.gfile.rmtree(path)
            else:
                tf.io.gfile.remove(path)


def load_config(model_dir):
    """Replaces the gin config with the one a run saved in model_dir."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise CheckpointError(
            f"{path} not found: {model_dir} is not a trained model "
            "directory (train with python -m flexae_tf.main first).")
    gin.clear_config()
    try:
        with tf.io.gfile.GFile(path) as f:
            gin.parse_config(run_config.without_retired(f.read()),
                             skip_unknown=True)
    except (OSError, ValueError, SyntaxError, tf.errors.OpError) as e:
        raise CheckpointError(
            f"Cannot read {path} ({(str(e).strip().splitlines() or [''])[0]})"
            ": restore it from the run or a backup.") from e


def load_trained(model_dir):
    """Loads model_dir's gin config and its latest inference networks.

    Replaces the process's gin config with the run's.

    Returns:
      (model, iteration of the checkpoint, dataset name).
    """
    load_config(model_dir)
    try:
        dataset = gin.query_parameter("train.dataset")
    except ValueError:
        dataset = "mnist"  # train()'s default, absent when never overridden.
    model, iteration = restore_model(model_dir, data.image_shape(dataset))
    return model, iteration, dataset


def restore_model(model_dir, image_shape):
    """FlexAE with the inference networks of model_dir's latest checkpoint.

    Expects the run's gin config to be loaded (`load_config`).

    Returns:
      (model, iteration of the checkpoint).
    """
    model = factory.make_model(image_shape)
    model.compile()  # Its optimizers name every part a checkpoint holds.
    path = restore(model.trackables(inference_only=True), model_dir,
                   expected=model.trackables())
    if path is None:
        raise CheckpointError(
            f"No checkpoint in {os.path.join(model_dir, CHECKPOINT_DIR)}: "
            "train the model (or wait for its first checkpoint) first.")
    return model, int(model.iteration.numpy())
