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
  used in the process - in practice when it first lists its devices (a
  distribution strategy does, and so does absl's `app.run`) - so train()
  calls this first, and entry points call `reserve_compilation_cache`
  before `app.run`.
"""

import atexit
import os
import shutil
import tempfile

from absl import logging
import gin
import tensorflow as tf

from flexae_tf.core import errors

JIT_CHOICES = (True, False, "auto")
CACHE_FLAG = "--tf_xla_persistent_cache_directory"
CACHE_SUBDIR = "xla_cache"
LINK_ENV = "FLEXAE_XLA_CACHE_LINK"


def gpu_visible():
    return bool(tf.config.list_physical_devices("GPU"))


def resolve_jit_compile(value, cache_directory=None):
    """True/False for `train.jit_compile` = True, False or 'auto'.

    Args:
      value: True, False or 'auto' (XLA when a GPU is visible).
      cache_directory: from `enable_compilation_cache`; created when XLA
        ends up on.

    Raises:
      errors.UserError: any other value.
    """
    if not (isinstance(value, bool) or value == "auto"):
        raise errors.UserError(
            f"train.jit_compile={value!r}; expected True, False or 'auto' "
            "(XLA on a GPU, graph mode on CPU).")
    jit_compile = gpu_visible() if value == "auto" else value
    if jit_compile and cache_directory:
        os.makedirs(cache_directory, exist_ok=True)
    return jit_compile


def _tensorflow_initialised():
    # pylint: disable=g-import-not-at-top,protected-access
    from tensorflow.python.eager import context
    state = context.context()
    return (state._physical_devices is not None
            or state._context_handle is not None)


def _cache_flag():
    for flag in os.environ.get("TF_XLA_FLAGS", "").split():
        if flag.startswith(CACHE_FLAG + "="):
            return flag.split("=", 1)[1]
    return None


def _set_cache_flag(directory):
    flags = [f for f in os.environ.get("TF_XLA_FLAGS", "").split()
             if not f.startswith(CACHE_FLAG + "=")]
    os.environ["TF_XLA_FLAGS"] = " ".join(
        flags + [f"{CACHE_FLAG}={directory}"])


def reserve_compilation_cache():
    """Points the XLA cache at a symlink that train() aims later.

    For entry points built on absl's `app.run`, which makes TensorFlow list
    its devices (and so read TF_XLA_FLAGS) before `main` knows the model
    directory: call this before `app.run`. The flag then names a link in a
    fresh temporary directory; `enable_compilation_cache` points the link
    at the real cache directory, which works because the cache opens its
    files only when it compiles.

    Returns:
      The link path, or None when the user set a cache directory.
    """
    current = _cache_flag()
    if current is not None and current != os.environ.get(LINK_ENV):
        return None  # The user's own; an inherited link is replaced.
    parent = tempfile.mkdtemp(prefix="flexae_xla_")
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    link = os.path.join(parent, "cache")
    os.environ[LINK_ENV] = link
    _set_cache_flag(link)
    return link


@gin.configurable(denylist=["model_dir", "jit_compile"])
def enable_compilation_cache(model_dir, jit_compile, directory=None,
                             enabled=True):
    """Points TensorFlow's persistent XLA cache at a directory.

    Call before anything lists or uses TensorFlow devices (a strategy,
    `tf.config.list_physical_devices`), unless `reserve_compilation_cache`
    ran at program start: TensorFlow parses TF_XLA_FLAGS once per process.

    Args:
      model_dir: the run's directory; the default cache is
        <model_dir>/xla_cache, so a resume of the run reuses it. Workers of
        a multi-worker run may share it: entries are written to a temporary
        file and renamed.
      jit_compile: `train.jit_compile`; False: no cache.
      directory: a cache shared by runs instead (e.g. ~/.cache/flexae_xla);
        entries are keyed by the compiled computation and the device, so
        runs of other configurations do not collide.
      enabled: False: every start compiles.

    Returns:
      The cache directory (created by `resolve_jit_compile` when XLA is
      on), or None when off. A cache directory the user put in
      TF_XLA_FLAGS wins over both arguments.
    """
    if not enabled or jit_compile is False:
        return None
    directory = os.path.abspath(os.path.expanduser(
        directory or os.path.join(model_dir, CACHE_SUBDIR)))
    current, link = _cache_flag(), os.environ.get(LINK_ENV)
    if link is not None and current == link:
        if os.path.lexists(link):
            os.remove(link)  # A second run in this process.
        os.symlink(directory, link)
    elif current is not None:
        return current
    else:
        if _tensorflow_initialised():
            logging.warning(
                "XLA compilation cache %s requested after TensorFlow "
                "initialised its devices; this process may compile without "
                "it (call accelerate.reserve_compilation_cache() at program "
                "start).", directory)
        _set_cache_flag(directory)
    logging.info("XLA compilation cache: %s", directory)
    return directory


def align_trace_names(multiple=10**6):
    """Makes the next traced functions' names the same in every process.

    A cache entry is keyed by the compiled function's name, and TensorFlow
    names a traced function `__inference_<name>_<uid>` after a process-wide
    counter: a resumed run, which restores a checkpoint first, traces the
    same iteration under another number and would miss the cache. Moving
    the counter to the next multiple of `multiple` (about 0.3 s per 10**6)
    right before the training function is traced gives it the same name in
    the first run and in every resume.
    """
    # pylint: disable=g-import-not-at-top
    from tensorflow.python.framework import ops
    for _ in range(multiple - 1 - ops.uid() % multiple):
        ops.uid()


def cache_entries(directory):
    """Names of the serialised executables in a cache directory."""
    if not directory or not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if n.endswith(".pb"))
