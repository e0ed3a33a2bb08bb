"""The one way the project writes a file: atomically, naming the path on failure.

Every file under a model directory or a report directory goes through here,
so a crash mid-write leaves the previous file (or none), never a truncated
one; a failed write is one `errors.UserError` naming the path; and the
temporaries a `kill -9` leaves behind share one recognisable name that
`remove_stale_temporaries` cleans at the next start. `tf.io.gfile`, so
model directories on GCS work too.
"""

import contextlib
import csv
import io
import os
import re

import tensorflow as tf

from flexae_tf.core import errors

# `.<name>.tmp-<pid><suffix>`: hidden, and recognisable after a crash. The
# suffix also covers what TensorFlow adds to a checkpoint prefix
# (`.data-00000-of-00001`, `.index`, `_temp/`).
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)([._][A-Za-z0-9_.-]+)?$")


class WriteError(errors.UserError):
    """A file could not be written (permissions, a full disk, a folder in
    the way)."""


def temporary_path(path, suffix=""):
    """The temporary name `atomic_path` writes before the rename."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}{suffix}")


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path to write; renames it over `path` on success.

    For writers that take a path (`model.save`, `np.savez`,
    `tf.io.TFRecordWriter`). `suffix` is kept on the temporary for writers
    that insist on an extension (`.keras`, `.npz`). On any error the
    temporary is removed and the error raised as one line naming `path`.
    """
    tmp = temporary_path(path, suffix)
    try:
        directory = os.path.dirname(path)
        if directory:
            tf.io.gfile.makedirs(directory)
        yield tmp
        tf.io.gfile.rename(tmp, path, overwrite=True)
    except (OSError, tf.errors.OpError) as e:
        _remove(tmp)
        raise WriteError(
            f"Cannot write {path}: {_reason(e)}. Check that its folder is a "
            "writable directory with free space.") from e
    except BaseException:
        _remove(tmp)
        raise


def write_atomically(path, content):
    """Writes `content` (str or bytes) to `path` atomically."""
    mode = "wb" if isinstance(content, bytes) else "w"
    with atomic_path(path) as tmp:
        with tf.io.gfile.GFile(tmp, mode) as f:
            f.write(content)


def write_csv(path, fieldnames, rows):
    """Writes dict rows under a header line to `path` atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, buffer.getvalue())


def remove_stale_temporaries(directory, recursive=False):
    """Removes temporaries of processes that no longer run.

    Returns:
      The paths removed.
    """
    removed = []
    if not tf.io.gfile.isdir(directory):
        return removed
    walk = (tf.io.gfile.walk(directory) if recursive
            else [(directory, None, tf.io.gfile.listdir(directory))])
    for folder, _, names in walk:
        for name in names:
            match = _TEMPORARY.match(name.rstrip("/"))
            if match and not _alive(int(match.group(1))):
                path = os.path.join(folder, name.rstrip("/"))
                _remove(path)
                removed.append(path)
    return removed


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path):
    try:
        if tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
        elif tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)
    except (OSError, tf.errors.OpError):
        pass


def _reason(e):
    if isinstance(e, tf.errors.OpError):
        return e.message.splitlines()[0] if e.message else type(e).__name__
    return e.strerror or str(e) or type(e).__name__
