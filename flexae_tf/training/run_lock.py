"""One trainer per model_dir: an exclusive lock held for the whole run.

`fcntl.flock` on `<model_dir>/.lock`: the kernel releases it when the
process ends, however it ends (kill -9 included), so a stale lock file
never blocks a rerun. The file names the holder (pid and host) for the
message a second trainer prints.
"""

import errno
import fcntl
import os
import socket

from flexae_tf.core import errors

LOCK_FILE = ".lock"


def prepare_dir(path):
    """Creates `path`; one clear error when it cannot hold a run.

    Raises:
      errors.UserError: path is a file, lies under a file, or is not
        writable.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise errors.UserError(f"--model_dir {path} is a file, not a "
                               "directory: choose another --model_dir.")
    try:
        os.makedirs(path, exist_ok=True)
    except (NotADirectoryError, FileExistsError) as e:
        raise errors.UserError(
            f"--model_dir {path} cannot be created: a part of it is a file "
            f"({e.strerror}). Choose another --model_dir.") from e
    except OSError as e:
        raise errors.UserError(
            f"--model_dir {path} cannot be created ({e.strerror}).") from e
    if not os.access(path, os.W_OK | os.X_OK):
        raise errors.UserError(f"--model_dir {path} is not writable: make "
                               "it writable or choose another --model_dir.")


class RunLock:
    """The held lock; `release()` (or process exit) frees it."""

    def __init__(self, model_dir):
        self.path = os.path.join(model_dir, LOCK_FILE)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise errors.UserError(
                f"Cannot create the lock file {self.path} ({e.strerror}): "
                "--model_dir must be writable.") from e
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(self._fd, 256, 0).decode(errors="replace")
            os.close(self._fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise errors.UserError(
                f"{model_dir} is in use by another trainer "
                f"({holder.strip() or 'holder unknown'}); wait for it to "
                "finish or use another --model_dir.") from e
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd,
                  f"pid {os.getpid()} on host {socket.gethostname()}\n"
                  .encode(), 0)

    def release(self):
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
