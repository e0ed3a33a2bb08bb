"""The tf.distribute strategy a run trains under, chosen by name in gin."""

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
