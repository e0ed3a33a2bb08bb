"""What this CPU can do, and the oneDNN default that follows from it.

TensorFlow 2.9+ turns its oneDNN kernels on by default only on x86 CPUs with
AVX512-VNNI/BF16 or AMX. On AVX2-only CPUs (most laptops, desktops and many
cloud VMs) it leaves them off, and FlexAE-SR's convolution-heavy step then
runs about 2.4x slower (measured in docs/speed.md). `prefer_onednn()` runs
when `flexae_tf` is imported, before TensorFlow is: on x86 it sets
`TF_ENABLE_ONEDNN_OPTS=1` unless the user set the variable. Programs that
import TensorFlow before flexae_tf set it themselves:

    TF_ENABLE_ONEDNN_OPTS=1 python my_script.py

This module must not import TensorFlow.
"""

import os
import platform
import sys

# The flags worth naming beside a speed number.
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
                "amx_tile", "amx_bf16", "amx_int8")
# Why oneDNN is (or is not) on, as `onednn_state()` reports it.
_SOURCE = "TF_ENABLE_ONEDNN_OPTS"
_SET_BY_US = "_FLEXAE_TF_SET_ONEDNN"


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (empty where /proc/cpuinfo does not exist)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def model_name(cpuinfo="/proc/cpuinfo"):
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def is_x86():
    return platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


def prefer_onednn(environ=None, modules=None):
    """Turns oneDNN on for TensorFlow on x86 unless the user chose.

    Returns:
      Whether the variable was set here. Too late (TensorFlow already
      imported) or not x86 or already set: False, nothing changed.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if _SOURCE in environ or not is_x86() or "tensorflow" in modules:
        return False
    environ[_SOURCE] = "1"
    environ[_SET_BY_US] = "1"  # Child processes report the same source.
    return True


def onednn_state(environ=None):
    """'on (set by flexae_tf)', 'on (TF_ENABLE_ONEDNN_OPTS=1)', 'off
    (TF_ENABLE_ONEDNN_OPTS=0)', or TensorFlow's own default for this CPU."""
    environ = os.environ if environ is None else environ
    value = environ.get(_SOURCE)
    if value is not None:
        on = value.strip().lower() in ("1", "true", "yes", "on")
        how = ("set by flexae_tf" if environ.get(_SET_BY_US)
               else f"{_SOURCE}={value}")
        return f"{'on' if on else 'off'} ({how})"
    flags = cpu_flags()
    default_on = is_x86() and bool(flags & {"avx512_vnni", "avx512_bf16",
                                            "amx_tile", "avx_vnni"})
    return f"{'on' if default_on else 'off'} (TensorFlow's default here)"


def describe():
    """One line for logs and benchmark headers: CPU, vector flags, oneDNN."""
    flags = cpu_flags()
    named = [f for f in VECTOR_FLAGS if f in flags]
    return (f"CPU {model_name()} ({os.cpu_count()} cores); vector flags: "
            f"{' '.join(named) or 'none of ' + '/'.join(VECTOR_FLAGS)}; "
            f"oneDNN {onednn_state()}")
