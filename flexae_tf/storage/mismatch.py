"""Why a checkpoint does not fit the configured model, in one line.

A restore that fails on shapes names a variable ("kernel") but neither
the network nor the setting behind it, and raises from inside the
restore; this checks shapes first and names both: the parts whose
variables do not fit, and the gin bindings of the run's saved
`operative_config.gin` that the current configuration changes.
"""

import os

import gin
import tensorflow as tf

from flexae_tf.storage import run_config

CONFIG_FILE = run_config.CONFIG_FILE


def parts_that_differ(items, path):
    """Names in `items` holding a variable whose shape differs in `path`.

    Compares shapes without restoring (a failed restore leaves objects
    that flood the log with "Value in checkpoint could not be found" at
    exit): the configured values are written to TensorFlow's in-memory
    filesystem and both checkpoints' shapes are read back.
    """
    scratch = f"ram://flexae_mismatch/{os.getpid()}/ckpt"
    try:
        written = tf.train.Checkpoint(**items).write(scratch)
        # (list_variables takes a ram:// prefix for a directory.)
        now = tf.compat.v1.train.NewCheckpointReader(
            written).get_variable_to_shape_map()
    finally:
        for name in tf.io.gfile.glob(scratch + "*"):
            tf.io.gfile.remove(name)
    stored = tf.train.load_checkpoint(path).get_variable_to_shape_map()
    differ = sorted({key.split("/", 1)[0] for key in set(now) & set(stored)
                     if list(now[key]) != list(stored[key])})
    # An optimizer's slots follow its network's shapes: name the networks
    # when any differs.
    networks = [n for n in differ if not n.endswith("_optimizer")]
    return networks or differ


def check_shapes(items, path, model_dir):
    """The one-line reason `items` cannot be restored from `path`, or None
    when every shared variable has the same shape."""
    parts = parts_that_differ(items, path)
    if not parts:
        return None
    return describe(path, model_dir, f"{', '.join(parts)} differ in shape")


def _statements(text):
    """{"Encoder.filters": "(8, 16)", "LATENT_DIM": "8"} of a gin text."""
    found, key = {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t)]}" and key is not None:  # A continued value.
            found[key] += " " + line.strip()
        elif " = " in line:
            key, value = line.split(" = ", 1)
            key = key.strip()
            found[key] = value.strip()
    return found


def settings_that_differ(model_dir, limit=4):
    """'X = a (run) vs b (now)' for bindings both configs hold, differing."""
    path = os.path.join(model_dir, CONFIG_FILE)
    try:
        with tf.io.gfile.GFile(path) as f:
            saved = _statements(f.read())
    except (OSError, tf.errors.OpError):
        return []
    now = _statements(gin.config_str())
    now.update(_statements(gin.operative_config_str()))
    differ = [f"{key} = {saved[key]} in the run, {now[key]} now"
              for key in sorted(set(saved) & set(now))
              if saved[key] != now[key] and not key.startswith("train.")]
    return differ[:limit]


def describe(path, model_dir, what):
    """'Checkpoint <path> does not fit ...: <what>; <settings>. <fix>.'"""
    settings = settings_that_differ(model_dir)
    why = (f"; the configuration changed: {'; '.join(settings)}"
           if settings else "")
    return (f"Checkpoint {path} does not fit the configured model: {what}"
            f"{why}. Use the gin files and bindings the run was started "
            "with, a new --model_dir, or train.warm_start_from to start a "
            "new run from its weights.")
