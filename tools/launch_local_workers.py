r"""Starts N local training workers (MultiWorkerMirroredStrategy) on one host.

  python tools/launch_local_workers.py --num_workers=2 -- \
      --gin_file=gin/tiny.gin --model_dir=runs/tiny_2workers

Arguments after `--` go to `python -m flexae_tf.main`; the launcher adds
`--gin_param=train.strategy='multi_worker'` and gives worker i a TF_CONFIG
with free 127.0.0.1 ports (worker 0 is the chief). Each worker's output goes
to <worker_log_dir>/worker_<i>.log.

A worker that fails is restarted with the same TF_CONFIG, as a cluster
manager would, up to --max_restarts times per worker. The others fail too
once their collective ops notice the dead peer, are restarted in turn, and
the whole cluster resumes from the chief's last checkpoint. A worker that
exits with status 2 (bad configuration) is not restarted: it would fail
again the same way.

This is for trying multi-worker training on one machine; with few CPU
cores the workers compete for them, so it shows overhead, not speed-up.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
from absl import logging

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# cli.fail's exit status: a configuration error, not worth a restart.
USER_ERROR_STATUS = 2


def free_ports(count):
    """`count` distinct TCP ports that were free on 127.0.0.1 just now."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def tf_config(addresses, index):
    """TF_CONFIG (JSON) of worker `index` in a cluster of `addresses`."""
    return json.dumps({"cluster": {"worker": list(addresses)},
                       "task": {"type": "worker", "index": index}})


def main_command(main_args):
    """Command line of one worker: flexae_tf.main forced to multi_worker."""
    return ([sys.executable, "-m", "flexae_tf.main"] + list(main_args)
            + ["--gin_param=train.strategy='multi_worker'"])


class LocalCluster:
    """N worker processes of one command, each with its own TF_CONFIG."""

    def __init__(self, command, num_workers, log_dir, max_restarts=3,
                 env=None):
        """Prepares (does not start) the cluster.

        Args:
          command: argv every worker runs (e.g. `main_command(...)`).
          num_workers: processes; worker 0 is the chief.
          log_dir: where worker_<i>.log files go (appended on restarts).
          max_restarts: restarts allowed per worker after a failure.
          env: environment of the workers; default os.environ.

        Raises:
          ValueError: num_workers < 1 or max_restarts < 0.
        """
        if num_workers < 1 or max_restarts < 0:
            raise ValueError(f"num_workers={num_workers} must be >= 1 and "
                             f"max_restarts={max_restarts} >= 0.")
        self.command = list(command)
        self.log_dir = log_dir
        self.max_restarts = max_restarts
        self.env = dict(os.environ if env is None else env)
        self.addresses = [f"127.0.0.1:{p}" for p in free_ports(num_workers)]
        self.processes = [None] * num_workers
        self.starts = [0] * num_workers
        self.returncodes = [None] * num_workers

    @property
    def num_workers(self):
        return len(self.addresses)

    def log_path(self, index):
        return os.path.join(self.log_dir, f"worker_{index}.log")

    def start_worker(self, index):
        """(Re)starts worker `index` with its TF_CONFIG."""
        os.makedirs(self.log_dir, exist_ok=True)
        env = dict(self.env, TF_CONFIG=tf_config(self.addresses, index))
        # The repository must be importable whatever the caller's cwd.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
        self.starts[index] += 1
        with open(self.log_path(index), "a") as log:
            log.write(f"=== start {self.starts[index]} of worker {index}, "
                      f"TF_CONFIG={env['TF_CONFIG']}\n")
            log.flush()
            self.processes[index] = subprocess.Popen(
                self.command, env=env, cwd=REPO_ROOT, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.returncodes[index] = None
        logging.info("Started worker %d (pid %d), log %s.", index,
                     self.processes[index].pid, self.log_path(index))

    def start(self):
        for index in range(self.num_workers):
            self.start_worker(index)
        return self

    def kill(self, index, sig=signal.SIGKILL):
        """Sends `sig` to worker `index` (a simulated machine failure)."""
        process = self.processes[index]
        if process is not None and process.poll() is None:
            process.send_signal(sig)

    def poll(self):
        """Restarts failed workers; returns True once all have exited 0.

        Raises:
          RuntimeError: a worker failed with a configuration error or ran
            out of restarts (the cluster is stopped first).
        """
        for index, process in enumerate(self.processes):
            if process is None or self.returncodes[index] is not None:
                continue
            code = process.poll()
            if code is None or code == 0:
                self.returncodes[index] = code
                continue
            logging.warning("Worker %d exited with status %d.", index, code)
            # A restarted worker cannot rejoin peers that already finished.
            if (code == USER_ERROR_STATUS
                    or self.starts[index] > self.max_restarts
                    or 0 in self.returncodes):
                self.stop()
                raise RuntimeError(
                    f"Worker {index} failed with status {code} after "
                    f"{self.starts[index]} start(s); see "
                    f"{self.log_path(index)}.")
            self.start_worker(index)
        return all(code == 0 for code in self.returncodes)

    def wait(self, timeout=None, poll_interval=0.5):
        """Supervises the workers until all exit 0.

        Raises:
          RuntimeError: see `poll`.
          TimeoutError: `timeout` seconds passed (the cluster is stopped).
        """
        deadline = None if timeout is None else time.time() + timeout
        while not self.poll():
            if deadline is not None and time.time() > deadline:
                self.stop()
                raise TimeoutError(f"Workers still running after {timeout} "
                                   f"s; logs in {self.log_dir}.")
            time.sleep(poll_interval)

    def stop(self, grace=5.0):
        """Terminates the workers still running (SIGTERM, then SIGKILL)."""
        running = [p for p in self.processes
                   if p is not None and p.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.time() + grace
        for process in running:
            try:
                process.wait(max(deadline - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def read_scalars(event_dir, tag):
    """[(step, value)] of a scalar summary in a TensorBoard directory."""
    from flexae_tf.core import events  # pylint: disable=g-import-not-at-top
    return sorted(events.read_scalars(event_dir, tag).items())


def iterations_per_second(num_workers, gin_files=("gin/tiny.gin",),
                          gin_params=(), num_iterations=60, chunk=10,
                          timeout=600):
    """Steady-state training speed of `num_workers` local workers.

    Trains from scratch in a temporary directory with summaries every
    `chunk` iterations and no pictures or checkpoints in between, and
    reads the chief's per-chunk iterations/s (the training loop's own
    measure, host work between chunks included), leaving out the first
    chunk (tracing). On one machine the workers share its cores, so this
    measures the multi-worker overhead, not a speed-up.

    Returns:
      (best, median) iterations per second over the timed chunks; each
      iteration consumes the global batch. The best is the figure least
      disturbed by other load, as in tools/benchmark.py.
    """
    if num_iterations < 3 * chunk:
        raise ValueError(f"num_iterations={num_iterations} must be >= "
                         f"3 * chunk={3 * chunk} for a steady-state median.")
    with tempfile.TemporaryDirectory(prefix="flexae_bench_") as tmp:
        model_dir = os.path.join(tmp, "model")
        args = [f"--gin_file={f}" for f in gin_files]
        args += [f"--gin_param={p}" for p in (
            list(gin_params) + [f"train.num_iterations={num_iterations}",
                                f"train.log_interval={chunk}",
                                f"train.image_interval={num_iterations}",
                                f"train.checkpoint_interval={num_iterations}"])]
        args.append(f"--model_dir={model_dir}")
        cluster = LocalCluster(main_command(args), num_workers,
                               os.path.join(tmp, "logs"), max_restarts=0)
        with cluster:
            cluster.wait(timeout)
        rates = [rate for step, rate in read_scalars(
            os.path.join(model_dir, "train"), "speed/iterations_per_second")
                 if step > chunk]
    rates.sort()
    return rates[-1], rates[len(rates) // 2]


FLAGS = flags.FLAGS
flags.DEFINE_integer("num_workers", 2, "Worker processes to start.")
flags.DEFINE_integer("max_restarts", 3,
                     "Restarts allowed per worker after a failure.")
flags.DEFINE_string("worker_log_dir", None,
                    "Directory for worker_<i>.log; default: a new temporary "
                    "directory.")
flags.DEFINE_float("timeout", None,
                   "Seconds before the workers are stopped; default none.")


def main(argv):
    main_args = argv[1:]
    if not main_args:
        print("error: give flexae_tf.main's arguments after `--`, e.g. "
              "-- --gin_file=gin/tiny.gin --model_dir=runs/tiny_2workers",
              file=sys.stderr)
        sys.exit(USER_ERROR_STATUS)
    log_dir = FLAGS.worker_log_dir or tempfile.mkdtemp(prefix="flexae_workers_")
    try:
        cluster = LocalCluster(main_command(main_args), FLAGS.num_workers,
                               log_dir, FLAGS.max_restarts)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(USER_ERROR_STATUS)
    logging.info("Cluster %s; logs in %s.", cluster.addresses, log_dir)
    with cluster:
        try:
            cluster.wait(FLAGS.timeout)
        except (RuntimeError, TimeoutError) as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(1)
    logging.info("All %d workers finished.", cluster.num_workers)


if __name__ == "__main__":
    app.run(main)
