"""What a FlexAE checkpoint holds, and how a finished run is loaded back.

A training checkpoint holds every network, every optimizer (slots and
step counts), the iteration counter and the training random stream, under
stable names, so a resumed run continues exactly where it stopped.
"""

import os

import gin
import tensorflow as tf

from flexae_tf import data
from flexae_tf import errors
from flexae_tf.models import factory

CONFIG_FILE = "operative_config.gin"
CHECKPOINT_DIR = "checkpoints"


class CheckpointError(errors.UserError):
    """No usable checkpoint; the message says what to do."""


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


def latest(model_dir):
    return tf.train.latest_checkpoint(os.path.join(model_dir, CHECKPOINT_DIR))


def load_config(model_dir):
    """Replaces the gin config with the one a run saved in model_dir."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise CheckpointError(
            f"{path} not found: {model_dir} is not a trained model "
            "directory (train with python -m flexae_tf.main first).")
    gin.clear_config()
    gin.parse_config_file(path, skip_unknown=True)


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
    path = latest(model_dir)
    if path is None:
        raise CheckpointError(
            f"No checkpoint in {os.path.join(model_dir, CHECKPOINT_DIR)}: "
            "train the model (or wait for its first checkpoint) first.")
    model = factory.make_model(image_shape)
    items = model.trackables(inference_only=True)
    status = tf.train.Checkpoint(**items).restore(path)
    status.assert_existing_objects_matched().expect_partial()
    return model, int(model.iteration.numpy())
