"""The TFLite (LiteRT) sampler: noise in, images out, for phones.

Noise is an input, so the converted graph has no random ops and uses only
TFLite builtins (PITFALLS.md (d)).
"""

import os
import time

import numpy as np
import tensorflow as tf

from flexae_tf.core import extras
from flexae_tf.serving import signatures

TFLITE_VARIANTS = ("float32", "float16", "int8")
SAMPLER_KEY = "sampler"


def write_tflite(model, out_dir, staging_dir, batch=1):
    """The sampler noise [batch, m'] -> images in each TFLITE_VARIANTS.

    Converts from a SavedModel with one static-batch `sampler` signature:
    from_concrete_functions on Keras 3 models gave weightless models, and
    a dynamic batch adds Shape/Pack ops that GPU delegates reject.

    Returns:
      {variant: path of the .tflite file}.
    """
    noise = tf.TensorSpec((batch, model.noise_dim), tf.float32, name="noise")
    sampler_dir = os.path.join(staging_dir, "sampler_saved_model")
    signatures.write_saved_model(model, sampler_dir, {
        SAMPLER_KEY: signatures.checked(
            lambda x: {"images": model.generate(x)}, noise)})
    os.makedirs(out_dir)
    paths = {}
    for variant in TFLITE_VARIANTS:
        converter = tf.lite.TFLiteConverter.from_saved_model(
            sampler_dir, signature_keys=[SAMPLER_KEY])
        if variant in ("float16", "int8"):
            # int8: dynamic-range (int8 weights, float activations).
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "float16":
            converter.target_spec.supported_types = [tf.float16]
        paths[variant] = os.path.join(out_dir, f"sampler_{variant}.tflite")
        with open(paths[variant], "wb") as f:
            f.write(converter.convert())
    return paths


def _sampler(path, num_threads=None):
    # Only running a sampler needs the interpreter; writing one needs TF.
    litert = extras.require("ai_edge_litert.interpreter", "tflite")
    return litert.Interpreter(
        model_path=path, num_threads=num_threads).get_signature_runner(
            SAMPLER_KEY)


def run_tflite(path, noise, num_threads=None):
    """Runs a TFLite sampler: noise [batch, m'] float32 -> images."""
    return _sampler(path, num_threads)(
        noise=np.asarray(noise, np.float32))["images"]


def benchmark_tflite(path, runs=50, warmup=5, num_threads=None):
    """Milliseconds per image of a TFLite sampler on this machine's CPU.

    The batch is the static one chosen at export (`--tflite_batch`).
    """
    runner = _sampler(path, num_threads)
    shape = runner.get_input_details()["noise"]["shape"]
    noise = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for _ in range(warmup):
        runner(noise=noise)
    start = time.perf_counter()
    for _ in range(runs):
        runner(noise=noise)
    return (time.perf_counter() - start) * 1000.0 / (runs * int(shape[0]))
