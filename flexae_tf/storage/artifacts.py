"""A trained model from either a run directory or a `.keras` file.

`evaluate` and `export` take either: a model_dir written by
`flexae_tf.main` (its latest checkpoint, with the run's gin config) or a
`.keras` artifact (`model.save(path)`; `<model_dir>/model.keras` is one),
which needs no gin state to load. This module knows nothing of training.
"""

import collections
import os
import zipfile

import gin
import keras
import tensorflow as tf

from flexae_tf.storage import checkpoints
from flexae_tf.core import errors
from flexae_tf.core import files
from flexae_tf.storage import guard

KERAS_FILE = "model.keras"

Trained = collections.namedtuple("Trained", "model iteration dataset")


def run_dir(path):
    """The directory results about `path` go in: the run, or the file's."""
    if path.endswith(".keras"):
        return os.path.dirname(os.path.abspath(path))
    return path


def load_model_or_run(path, require_dataset=False):
    """Loads a trained model from a run directory or a `.keras` file.

    A run directory gives its latest checkpoint (its `model.keras` when it
    has no checkpoint). Either way, when the run's `operative_config.gin`
    is there (beside a `.keras` file too), it replaces the process's gin
    config, as `checkpoints.load_trained` does, and names the dataset.

    Args:
      path: a model_dir or a `.keras` file.
      require_dataset: raise if the dataset cannot be known (a `.keras`
        file without its run's config beside it).

    Returns:
      Trained(model, iteration, dataset name or None).

    Raises:
      errors.UserError: nothing loadable at `path`.
    """
    if os.path.isdir(path):
        if (checkpoints.latest(path) is None
                and os.path.isfile(os.path.join(path, KERAS_FILE))):
            return load_model_or_run(os.path.join(path, KERAS_FILE),
                                     require_dataset)
        return Trained(*checkpoints.load_trained(path))
    if not os.path.exists(path):
        raise errors.UserError(f"{path} does not exist.")
    if not path.endswith(".keras"):
        raise errors.UserError(
            f"{path} is neither a run directory (flexae_tf.main "
            "--model_dir) nor a .keras file.")
    model = load_keras(path)
    dataset = None
    if os.path.isfile(os.path.join(run_dir(path), checkpoints.CONFIG_FILE)):
        checkpoints.load_config(run_dir(path))
        try:
            dataset = gin.query_parameter("train.dataset")
        except ValueError:
            dataset = "mnist"  # train()'s default, absent when not bound.
    if dataset is None and require_dataset:
        raise errors.UserError(
            f"The dataset of {path} is unknown: no {checkpoints.CONFIG_FILE} "
            "beside it. Use the run directory instead.")
    return Trained(model, int(model.iteration.numpy()), dataset)


def load_keras(path):
    """`keras.saving.load_model`, with a one-line error for a bad file."""
    if tf.io.gfile.isdir(path):
        raise errors.UserError(f"{path} is a folder, not a .keras file.")
    if tf.io.gfile.exists(path) and not _is_zip(path):
        # Keras says "File not found" for a truncated archive.
        raise errors.UserError(
            f"Cannot load {path}: not a complete .keras archive (truncated "
            "by a crash or a copy, or not a Keras file). Load the run "
            "directory instead, or save the model again.")
    try:
        return keras.saving.load_model(path, compile=False)
    except (ValueError, TypeError, KeyError, OSError,
            zipfile.BadZipFile) as e:
        message = str(e).strip().splitlines()
        raise errors.UserError(
            f"Cannot load {path}: "
            f"{message[0] if message else type(e).__name__}") from e


def _is_zip(path):
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            return zipfile.is_zipfile(f)
    except tf.errors.OpError:  # Shorter than a zip's end record.
        return False


def save(model, path):
    """`model.save(path)` via a temporary file and a rename.

    A crash mid-write leaves the previous artifact (or none), never a
    truncated one. tf.io.gfile, so model directories on GCS work too.

    Raises:
      guard.NotFinite: a weight is NaN or inf; nothing is written.
    """
    guard.check_finite(model.variables, path)
    with files.atomic_path(path, ".keras") as tmp:  # Keras wants .keras.
        model.save(tmp)
