"""Where XLA compiles the iteration, and how a restart avoids compiling again.

- `resolve_jit_compile`: `train.jit_compile` is True, False or 'auto'.
  'auto' turns XLA on when a GPU is visible and off on CPU: on the 2-core
  development CPU the XLA-compiled FlexAE-SR iteration was slower than the
  TF graph (issue 11) and costs about two minutes of compilation per start.
- `enable_compilation_cache`: TensorFlow's persistent XLA cache
  (`TF_XLA_FLAGS=--tf_xla_persistent_cache_directory=DIR`). Each compiled
  cluster is serialised to DIR/xla_compile_cache__*.pb; a later process
  compiling the same cluster for the same device loads it instead of
  compiling. TensorFlow reads TF_XLA_FLAGS once, the first time XLA is
  used in the process, so this must run before any jit-compiled function
  executes (train() calls it before building the training function).
"""

import os

from absl import logging
import gin
import tensorflow as tf

from flexae_tf import errors

JIT_CHOICES = (True, False, "auto")
CACHE_FLAG = "--tf_xla_persistent_cache_directory"
CACHE_SUBDIR = "xla_cache"


def gpu_visible():
    return bool(tf.config.list_physical_devices("GPU"))


def resolve_jit_compile(value):
    """True/False for `train.jit_compile` = True, False or 'auto'.

    Raises:
      errors.UserError: any other value.
    """
    if isinstance(value, bool):
        return value
    if value == "auto":
        return gpu_visible()
    raise errors.UserError(
        f"train.jit_compile={value!r}; expected True, False or 'auto' (XLA "
        "on a GPU, graph mode on CPU).")


def _flags_without_cache(flags):
    return [f for f in flags.split() if not f.startswith(CACHE_FLAG + "=")]


@gin.configurable(denylist=["model_dir"])
def enable_compilation_cache(model_dir, directory=None, enabled=True):
    """Points TensorFlow's persistent XLA cache at a directory.

    Args:
      model_dir: the run's directory; the default cache is
        <model_dir>/xla_cache, so a resume of the run reuses it.
      directory: a cache shared by runs instead (e.g. ~/.cache/flexae_xla);
        entries are keyed by the compiled computation and the device, so
        runs of other configurations do not collide.
      enabled: False leaves TF_XLA_FLAGS alone (every start compiles).

    Returns:
      The cache directory, or None when disabled. A cache directory the
      user already put in TF_XLA_FLAGS wins over both arguments.
    """
    if not enabled:
        return None
    flags = os.environ.get("TF_XLA_FLAGS", "")
    for flag in flags.split():
        if flag.startswith(CACHE_FLAG + "="):
            return flag.split("=", 1)[1]
    directory = directory or os.path.join(model_dir, CACHE_SUBDIR)
    directory = os.path.abspath(os.path.expanduser(directory))
    os.makedirs(directory, exist_ok=True)
    os.environ["TF_XLA_FLAGS"] = " ".join(
        _flags_without_cache(flags) + [f"{CACHE_FLAG}={directory}"])
    logging.info("XLA compilation cache: %s (read once per process, before "
                 "the first XLA compilation).", directory)
    return directory


def cache_entries(directory):
    """Names of the serialised executables in a cache directory."""
    if not directory or not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if n.endswith(".pb"))
