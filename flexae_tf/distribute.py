"""The tf.distribute strategy a run trains under, chosen by name in gin."""

import os

import gin
import tensorflow as tf

from flexae_tf import errors

STRATEGIES = ("mirrored", "one_device", "multi_worker")


@gin.configurable(denylist=["name"])
def make_strategy(name="mirrored", devices=None):
    """Builds the strategy.

    Args:
      name: "mirrored" (default: every visible GPU, else the CPU),
        "one_device" (first GPU, else the CPU) or "multi_worker"
        (MultiWorkerMirroredStrategy; cluster from $TF_CONFIG).
      devices: optional device list for "mirrored".
    """
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(
            gpus[0].name if gpus else "/cpu:0")
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise errors.UserError(f"Unknown strategy {name!r}; choose one of "
                     f"{STRATEGIES} (gin: train.strategy).")


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
    """
    if is_chief(strategy):
        return model_dir
    resolver = strategy.cluster_resolver
    return os.path.join(model_dir, "workers",
                        f"{resolver.task_type}_{resolver.task_id}")
