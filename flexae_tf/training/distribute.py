"""The tf.distribute strategy a run trains under, chosen by name in gin.

Multi-worker training uses TensorFlow's MultiWorkerMirroredStrategy: every
worker runs the same program with its own `TF_CONFIG` (see the README and
tools/launch_local_workers.py). Fault tolerance follows Keras'
BackupAndRestore: only the chief's checkpoints are kept, and every worker,
when (re)started, restores the chief's latest checkpoint, so restarting the
failed processes with the same TF_CONFIG resumes the whole cluster.
"""

import json
import os

from absl import logging
import gin
import tensorflow as tf

from flexae_tf.core import errors

STRATEGIES = ("mirrored", "one_device", "multi_worker")


@gin.configurable(denylist=["name"])
def make_strategy(name="mirrored", devices=None, collective_timeout=None):
    """Builds the strategy.

    "multi_worker" must be built before TensorFlow runs any op (a
    TensorFlow requirement), so call this first.

    Args:
      name: "mirrored" (default: every visible GPU, else the CPU),
        "one_device" (first GPU, else the CPU) or "multi_worker"
        (MultiWorkerMirroredStrategy; cluster from $TF_CONFIG).
      devices: optional device list for "mirrored".
      collective_timeout: "multi_worker" only: seconds a cross-worker
        reduction may wait before it fails. None leaves it to TensorFlow's
        coordination service, which fails the collectives within seconds
        of a peer dying or missing its heartbeats; a value must exceed the
        normal lag between workers (tracing, checkpoint writes).

    Raises:
      errors.UserError: unknown name, bad $TF_CONFIG or timeout.
    """
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(
            gpus[0].name if gpus else "/cpu:0")
    if name == "multi_worker":
        return _multi_worker_strategy(collective_timeout)
    raise errors.UserError(f"Unknown strategy {name!r}; choose one of "
                           f"{STRATEGIES} (gin: train.strategy).")


def _multi_worker_strategy(collective_timeout):
    if collective_timeout is not None and not collective_timeout > 0:
        raise errors.UserError(
            f"make_strategy.collective_timeout={collective_timeout!r}: must "
            "be a positive number of seconds, or None.")
    check_tf_config(os.environ.get("TF_CONFIG", ""))
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=collective_timeout)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=options)
    except RuntimeError as e:
        if "startup" not in str(e):
            raise
        raise RuntimeError(
            "MultiWorkerMirroredStrategy must be created before TensorFlow "
            "runs any op or lists devices; call make_strategy earlier.") from e


def check_tf_config(text):
    """Validates a TF_CONFIG value for "multi_worker".

    Args:
      text: the JSON string; empty means a single local worker.

    Raises:
      errors.UserError: not JSON, or the task is not in the cluster.
    """
    if not text:
        logging.warning("TF_CONFIG is not set: 'multi_worker' trains on this "
                        "machine alone.")
        return
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        addresses = cluster[task["type"]]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as e:
        raise errors.UserError(
            f"TF_CONFIG={text!r} is not valid ({type(e).__name__}: {e}). "
            'Expected JSON like {"cluster": {"worker": ["host1:port", '
            '"host2:port"]}, "task": {"type": "worker", "index": 0}}.'
        ) from e
    if not 0 <= index < len(addresses):
        raise errors.UserError(
            f"TF_CONFIG task index {index} is outside the "
            f"{len(addresses)} '{task['type']}' addresses of the cluster.")


def _cluster(strategy):
    """(task_type, task_id, number of tasks), or None when not multi-worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None
    spec = resolver.cluster_spec().as_dict()
    return (resolver.task_type, resolver.task_id,
            sum(len(tasks) for tasks in spec.values()))


def is_chief(strategy):
    """Whether this process writes the run's outputs (always, one worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return (resolver.task_type == "chief"
            or (resolver.task_type == "worker" and resolver.task_id == 0
                and "chief" not in resolver.cluster_spec().as_dict()))


def output_dir(model_dir, strategy):
    """model_dir on the chief; a per-worker scratch directory elsewhere.

    Every worker must run the same save ops (they are collective), but only
    the chief's files are kept, as TensorFlow's multi-worker guide says.
    Restores always read the chief's model_dir (BackupAndRestore), never
    the scratch directory.
    """
    if is_chief(strategy):
        return model_dir
    resolver = strategy.cluster_resolver
    return os.path.join(model_dir, "workers",
                        f"{resolver.task_type}_{resolver.task_id}")


def check_same_iteration(strategy, iteration):
    """Fails unless every worker resumed from the same iteration.

    All workers must restore the chief's checkpoint; a worker that cannot
    see the chief's model_dir (no shared filesystem) would silently start
    from scratch and train different weights under the same name.

    Raises:
      errors.UserError: the workers restored different iterations.
    """
    cluster = _cluster(strategy)
    if cluster is None or cluster[2] < 2:
        return
    # Sum and sum of squares: equal to n*x and n*x^2 only if all x agree.
    local = tf.constant([float(iteration), float(iteration) ** 2],
                        tf.float64)
    per_replica = strategy.experimental_distribute_values_from_function(
        lambda _: tf.identity(local))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica,
                            axis=None).numpy()
    replicas = strategy.num_replicas_in_sync
    if (total[0] != replicas * local[0].numpy()
            or total[1] != replicas * local[1].numpy()):
        task_type, task_id, _ = cluster
        raise errors.UserError(
            f"Worker {task_type}:{task_id} resumed from iteration "
            f"{iteration} but the cluster's mean is "
            f"{total[0] / replicas:g}: the workers restored different "
            "checkpoints. Every worker must see the chief's --model_dir "
            "(a shared filesystem such as NFS or GCS); restart all workers "
            "with the same TF_CONFIG.")


def _replica_local(variable):
    """Whether each replica updates its own copy of a float variable."""
    aggregation = getattr(variable, "aggregation", None)
    return (tf.as_dtype(variable.dtype).is_floating
            and aggregation in (None, "none", tf.VariableAggregation.NONE))


def replica_averager(strategy, variables):
    """A function that sets each variable to its mean over the replicas.

    Keras 3 batch-norm moving statistics have aggregation "none": each
    replica updates only its own copy from its local batch, so the copies
    (and the workers' checkpoints) drift apart. Averaging them at chunk
    ends keeps every worker identical and gives checkpoints the estimate
    over the global batch. Training itself uses batch statistics, so this
    changes no gradient.

    Args:
      strategy: the training strategy.
      variables: the model's non-trainable variables; only floating-point
        ones whose replicas update independently are averaged.

    Returns:
      A callable without arguments (a no-op with a single replica).
    """
    local = [v for v in variables if _replica_local(v)]
    if strategy.num_replicas_in_sync == 1 or not local:
        return lambda: None

    def average():
        context = tf.distribute.get_replica_context()
        means = context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                   [tf.identity(v) for v in local])
        for variable, mean in zip(local, means):
            variable.assign(mean)

    @tf.function
    def run():
        strategy.run(average)

    return run
