"""Mixed precision: Keras dtype policies plus loss scaling for float16.

`train.precision` picks the Keras dtype policy the networks are built
under:

  float32          everything in float32 (the default).
  mixed_bfloat16   convolutions and dense layers compute in bfloat16
                   (CPUs with AMX / AVX512-BF16, TPUs, Ampere+ GPUs);
                   bfloat16 has float32's range, so no loss scaling.
  mixed_float16    compute in float16 (GPUs with tensor cores), with
                   dynamic loss scaling against gradient underflow.
  auto             mixed_bfloat16 where the hardware computes bfloat16
                   natively (`native_bfloat16`: on CPUs, bf16 instructions
                   and oneDNN on), else float32. Without native support
                   bfloat16 is emulated, which is slower than float32.

Under both mixed policies every variable, and so every Adam state, stays
float32. The networks' last layers are float32 (networks.py), so codes,
decoded images and critic scores, and with them every loss and both
gradient penalties, are float32; only the layers in between run in 16 bits.

A Keras layer takes the global policy when it is constructed, so
`policy(name)` only has to surround model construction and `compile` (where
the optimizers are made): the previous global policy comes back afterwards,
and evaluation or export code building models later is unaffected. A
checkpoint holds float32 variables under every policy, so it loads into a
model built under any other.

Loss scaling (float16 only) is Keras' `LossScaleOptimizer`: `loss_scaled`
wraps each optimizer, and `output_gradient` gives the factor for
`tape.gradient(loss, variables, output_gradients=...)`, which equals the
gradient of scale * loss without recording another op. The wrapped
optimizer's `apply` divides by the scale, skips a step whose gradients are
not finite and halves the scale, and doubles it after `dynamic_growth_steps`
finite steps.
"""

import contextlib

import gin
import keras
from keras import ops
import tensorflow as tf

from flexae_tf.core import cpu
from flexae_tf.core import errors

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
# CPU features with native bfloat16 dot products (Linux /proc/cpuinfo).
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def check_policy(name):
    if name not in POLICIES:
        raise errors.UserError(
            f"train.precision={name!r}; expected 'auto' or one of "
            f"{POLICIES}.")
    return name


def onednn_enabled():
    """Whether TensorFlow runs its CPU kernels through oneDNN here.

    Without oneDNN, TensorFlow's own CPU kernels emulate bfloat16.
    """
    try:
        # pylint: disable=g-import-not-at-top
        from tensorflow.python.util import _pywrap_util_port
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # A TensorFlow without the hook.
        return False


def native_bfloat16(cpuinfo="/proc/cpuinfo", onednn=None):
    """Whether this machine's training devices compute bfloat16 natively.

    With GPUs: every visible one has compute capability >= 8.0 (Ampere or
    newer). Without: the CPU advertises AVX512-BF16 or AMX-BF16 in
    `cpuinfo` (False where that file does not exist: not Linux) and
    TensorFlow uses oneDNN (`onednn`, default `onednn_enabled()`): with
    `TF_ENABLE_ONEDNN_OPTS=0` the same CPU took 29.9 s per bfloat16
    iteration against 6.9 s in float32 (docs/speed.md).
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return all(tf.config.experimental.get_device_details(gpu).get(
            "compute_capability", (0, 0)) >= (8, 0) for gpu in gpus)
    onednn = onednn_enabled() if onednn is None else onednn
    return bool(cpu.cpu_flags(cpuinfo) & set(BFLOAT16_CPU_FLAGS)) and onednn


def resolve(name):
    """The dtype policy for `train.precision` = 'auto' or a policy name.

    Raises:
      errors.UserError: an unknown name.
    """
    if name == "auto":
        return "mixed_bfloat16" if native_bfloat16() else "float32"
    return check_policy(name)


@contextlib.contextmanager
def policy(name):
    """Builds layers (and optimizers) made inside under dtype policy `name`.

    Raises:
      errors.UserError: an unknown policy name.
    """
    check_policy(name)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def loss_scaling_active():
    """Whether optimizers made now need loss scaling (float16 compute)."""
    return keras.config.dtype_policy().compute_dtype == "float16"


@gin.configurable(denylist=["optimizer"])
def loss_scaled(optimizer, initial_scale=2.0**15, dynamic_growth_steps=2000):
    """`optimizer`, wrapped in a LossScaleOptimizer under float16 compute.

    Args:
      optimizer: an unbuilt Keras optimizer.
      initial_scale: first loss scale (Keras' default).
      dynamic_growth_steps: finite steps before the scale doubles.
    """
    if not loss_scaling_active():
        return optimizer
    return keras.optimizers.LossScaleOptimizer(
        optimizer, initial_scale=initial_scale,
        dynamic_growth_steps=dynamic_growth_steps,
        name=f"{optimizer.name}_loss_scaled")


def output_gradient(optimizer, loss):
    """The loss scale for `tape.gradient(..., output_gradients=)`, or None."""
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return None
    return ops.cast(optimizer.scale_loss(1.0), loss.dtype)
