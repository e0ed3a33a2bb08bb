"""Resuming a run: configured hyper-parameters, TensorBoard steps, warm start.

A restore brings back everything a checkpoint holds, including the
optimizers' learning rates; the configured rates must win (so lowering a
rate and rerunning, as the divergence message advises, works, and the
operative config stays true). A killed run may have logged steps past its
last checkpoint; the resumed run writes them again, so those stale events
are removed first and TensorBoard never shows a step twice.
"""


from absl import logging
import keras
import numpy as np
import tensorflow as tf

from flexae_tf.storage import checkpoints
from flexae_tf.core import errors
from flexae_tf.core import events as events_lib
from flexae_tf.core import files


def optimizer_settings(model):
    """{"<part>.learning_rate": value} of the model's optimizers."""
    settings = {}
    for name, item in model.trackables().items():
        if isinstance(item, keras.optimizers.Optimizer):
            settings[f"{name}.learning_rate"] = float(
                np.asarray(item.learning_rate))
    return settings


def apply_settings(model, configured):
    """Sets the configured values back after a restore; logs each change.

    Returns:
      {name: (checkpoint value, configured value)} of the changed ones.
    """
    items = model.trackables()
    changed = {}
    for key, value in configured.items():
        name, attribute = key.rsplit(".", 1)
        optimizer = items[name]
        stored = float(np.asarray(getattr(optimizer, attribute)))
        if stored != value:
            changed[key] = (stored, value)
            logging.info("Configured %s = %g replaces the checkpoint's %g.",
                         key, value, stored)
            setattr(optimizer, attribute, value)
    return changed


def purge_events(event_dir, last_step):
    """Removes events after `last_step` from the event files of event_dir.

    The run resumes at `last_step` and writes the later steps again.

    Returns:
      Number of events removed.
    """
    removed = 0
    for path in events_lib.event_files(event_dir):
        events = events_lib.read_events(path)
        kept = [e for e in events if e.step <= last_step]
        if len(kept) == len(events):
            continue
        removed += len(events) - len(kept)
        with files.atomic_path(path) as tmp:
            with tf.io.TFRecordWriter(tmp) as writer:
                for event in kept:
                    writer.write(event.SerializeToString())
    if removed:
        logging.info("Removed %d TensorBoard events after step %d of the "
                     "interrupted run.", removed, last_step)
    return removed


def warm_start(model, source_dir):
    """Initialises the model's networks from another run's checkpoint.

    Only networks whose name and shapes match are loaded; the iteration
    counter, optimizers and random stream start fresh.

    Raises:
      errors.UserError: no checkpoint in source_dir, or nothing matches.
    """
    path = checkpoints.latest(source_dir)
    if path is None:
        raise errors.UserError(f"train.warm_start_from={source_dir!r}: no "
                               "checkpoint there.")
    checkpoints.verify(path)
    stored = checkpoints.parts(path)
    networks = {name: item for name, item in model.trackables().items()
                if isinstance(item, keras.layers.Layer) and name in stored}
    if not networks:
        raise errors.UserError(f"train.warm_start_from={source_dir!r}: its "
                               "checkpoint shares no network with this model.")
    try:
        tf.train.Checkpoint(**networks).restore(
            path).assert_existing_objects_matched().expect_partial()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise errors.UserError(
            f"train.warm_start_from={source_dir!r}: networks differ in shape "
            f"({str(e).splitlines()[0]}).") from e
    logging.info("Warm start: %s loaded from %s.", ", ".join(sorted(networks)),
                 path)
