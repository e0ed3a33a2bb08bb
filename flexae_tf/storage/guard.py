"""What may go into a run directory: the expected layout, finite values.

Training checks the layout once at start, so a file where a folder must
be (or the reverse) is one line naming it, not a traceback (or a
misleading "disk full?") at the first write minutes later. Every writer
of weights (evaluation checkpoints, `model.keras`, exports) passes
`check_finite` first, so nothing non-finite is ever written.
"""

import os

import numpy as np
import tensorflow as tf

from flexae_tf.core import errors

# What training writes under model_dir, by kind.
FOLDERS = ("checkpoints", "eval_checkpoints", "images", "train", "eval",
           "xla_cache")
FILES = ("operative_config.gin", "model.keras", ".lock")


class NotFinite(errors.UserError):
    """Weights hold NaN or inf; they are not written."""


def check_layout(model_dir):
    """One line naming the first entry of model_dir of the wrong kind.

    Raises:
      errors.UserError: a file where training writes a folder, or a
        folder where it writes a file.
    """
    for name in FOLDERS:
        path = os.path.join(model_dir, name)
        if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):
            raise errors.UserError(
                f"{path} is a file, but training writes a folder there: "
                "move the file away or choose another --model_dir.")
    for name in FILES:
        path = os.path.join(model_dir, name)
        if tf.io.gfile.isdir(path):
            raise errors.UserError(
                f"{path} is a folder, but training writes a file there: "
                "move the folder away or choose another --model_dir.")


def variables_of(trackables):
    """The variables of {name: layer, optimizer or variable}, once each."""
    found = {}
    for item in trackables.values():
        for v in ([item] if isinstance(item, tf.Variable)
                  else getattr(item, "variables", ())):
            found.setdefault(id(v), v)
    return list(found.values())


def non_finite(variables):
    """Paths (or names) of the floating-point variables holding NaN/inf."""
    bad = []
    for v in variables:
        if not tf.as_dtype(v.dtype).is_floating:
            continue
        if not np.all(np.isfinite(np.asarray(v.numpy(), np.float64))):
            bad.append(getattr(v, "path", None) or v.name)
    return bad


def check_finite(variables, what):
    """Raises NotFinite naming a few of the bad variables of `what`."""
    bad = non_finite(variables)
    if bad:
        raise NotFinite(
            f"{what}: {len(bad)} weights hold NaN or infinite values (e.g. "
            f"{', '.join(bad[:3])}); not written. Lower the learning rates "
            "or use an earlier checkpoint.")
