"""SIGTERM and SIGINT: finish the chunk, checkpoint, stop with a status.

Kubernetes, Slurm and preemptible VMs send SIGTERM some seconds before
SIGKILL; Python's default ends the process at once (status 143) and the
iterations since the last checkpoint are lost. Here the first signal only
sets `run.stop_signal`; the chunk in flight (one fit epoch, a few
iterations) finishes, the `Checkpoints` callback writes its checkpoint
and `model.keras`, and the trainer raises `Interrupted`, which the entry
point turns into INTERRUPTED_STATUS and one line. A second signal ends
the process the default way.
"""

import contextlib
import os
import signal
import threading

from absl import logging

# EX_TEMPFAIL (sysexits.h): "try again later", i.e. rerun to resume. Not 2
# (bad input) and not 128+N (killed without a checkpoint).
INTERRUPTED_STATUS = 75
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(Exception):
    """Training stopped on a signal after writing its checkpoint."""


@contextlib.contextmanager
def stop_on_signals(run):
    """Within: SIGTERM/SIGINT set `run.stop_signal` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal.signal works only there; keep the defaults.
        return

    def request_stop(signum, frame):
        del frame
        name = signal.Signals(signum).name
        if run.stop_signal is not None:  # Second signal: stop now.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        run.stop_signal = name
        logging.warning("%s: finishing iterations %d.., then writing a "
                        "checkpoint (send it again to stop at once).", name,
                        run.iteration)

    previous = {s: signal.signal(s, request_stop) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def interrupted(run):
    """The exception for a run stopped by `run.stop_signal`."""
    where = (run.manager.latest_checkpoint if run.manager is not None
             else "no checkpoint")
    return Interrupted(
        f"{run.stop_signal}: stopped at iteration {run.iteration} of "
        f"{run.num_iterations}, checkpoint {where}; rerun the same command "
        "to resume from it.")
