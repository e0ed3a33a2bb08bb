r"""Calls every signature of a served FlexAE over gRPC and REST; writes PNGs.

Serve an export first (saved_models/README.md), then:

  python -m flexae_tf.serving.client --model_name=mnist \
      [--host=localhost] [--grpc_port=8500] [--rest_port=8501] \
      [--model_version=N] [--protocols=grpc,rest] [--output_dir=/tmp/served]

Writes <output_dir>/<protocol>[_<form>]_<signature>.png, one image grid per
call. REST calls go out in both JSON forms, row ("instances") and
columnar ("inputs"), except for the signatures with scalar inputs
(sample_seeded, interpolate), which go columnar: the row form needs a
batch dimension on every input, so TF Serving rejects it for them.

Request building and response parsing (`protocols`) are pure functions,
tested against tests/serving_test_server.py.
"""

import os
import urllib.error
import urllib.request

from absl import flags
from absl import logging
import numpy as np

from flexae_tf.core import cli
from flexae_tf.core import extras
from flexae_tf.core import files
from flexae_tf.core import summaries
from flexae_tf.serving import protocols as wire

def demo_inputs(images, codes, noise_dim, seed=0, num_steps=8):
    """Inputs for every signature, built from served samples and codes."""
    half = max(1, len(images) // 2)
    rng = np.random.default_rng(seed)
    return {
        "serving_default": {"noise": rng.standard_normal(
            (len(images), noise_dim))},
        "sample_seeded": {"num_samples": len(images), "seed": seed},
        "encode": {"images": images},
        "decode": {"z": codes},
        "reconstruct": {"images": images},
        "interpolate": {"image_a": images[:half],
                        "image_b": images[half:2 * half],
                        "num_steps": num_steps},
    }


def to_grid(images, columns=8):
    """[N, H, W, C] or interpolations [N, S, H, W, C] -> one grid image."""
    images = np.asarray(images)
    if images.ndim == 5:  # One row per interpolation.
        columns = images.shape[1]
        images = images.reshape((-1,) + images.shape[2:])
    return summaries.image_grid(np.clip(images, 0.0, 1.0), columns)


def call_all(predict, num_samples, noise_dim, seed=0):
    """Calls every signature once through `predict(signature, inputs)`.

    Samples come from `sample_seeded`, codes from `encode`; the other
    calls reuse them.

    Returns:
      {signature: output array}.
    """
    first = {"num_samples": num_samples, "seed": seed}
    images = predict("sample_seeded", first)
    codes = predict("encode", {"images": images})
    inputs = demo_inputs(images, codes, noise_dim, seed)
    results = {"sample_seeded": images, "encode": codes}
    for name in wire.SIGNATURES:
        if name not in results:
            results[name] = predict(name, inputs[name])
    return results


def call_and_save(host, model_name, output_dir, grpc_port=8500,
                  rest_port=8501, version=None, protocols=("grpc", "rest"),
                  num_samples=8, noise_dim=32, seed=0, timeout=30.0):
    """Calls every signature over each protocol (and REST form) -> PNGs.

    Returns:
      Paths of the PNGs written.
    """
    grpc = extras.require("grpc", "serving")
    os.makedirs(output_dir, exist_ok=True)
    callers = {}
    with grpc.insecure_channel(f"{host}:{grpc_port}") as channel:
        if "grpc" in protocols:
            callers["grpc"] = lambda name, inputs: wire.predict_grpc(
                channel, wire.grpc_request(model_name, name, inputs, version),
                timeout)[wire.SIGNATURES[name][1]]
        if "rest" in protocols:
            url = wire.rest_url(host, rest_port, model_name, version)
            for form in wire.REST_FORMS:
                callers[f"rest_{form}"] = _rest_caller(url, form, timeout)
        paths = []
        for label, predict in callers.items():
            results = call_all(predict, num_samples, noise_dim, seed)
            for name, output in results.items():
                if name == "encode":
                    continue  # Codes, not images.
                path = os.path.join(output_dir, f"{label}_{name}.png")
                files.write_atomically(path, summaries.to_png(to_grid(output)))
                paths.append(path)
                logging.info("%s %s: %s -> %s", label, name, output.shape,
                             path)
    return paths


def _rest_caller(url, form, timeout):
    def predict(name, inputs):
        inputs = {k: np.asarray(v) for k, v in inputs.items()}
        use = form
        if form == "instances" and any(v.ndim == 0 for v in inputs.values()):
            use = "inputs"  # Row form impossible for scalar inputs.
        output = wire.SIGNATURES[name][1]
        return wire.predict_rest(url, wire.rest_request(name, inputs, use),
                                 output, timeout)[output]
    return predict


FLAGS = flags.FLAGS


def define_flags():
    """CLI flags; defined on demand so importing this module is safe."""
    flags.DEFINE_string("host", "localhost", "Host running TF Serving.")
    flags.DEFINE_integer("grpc_port", 8500, "TF Serving --port.")
    flags.DEFINE_integer("rest_port", 8501, "TF Serving --rest_api_port.")
    flags.DEFINE_string("model_name", None, "TF Serving --model_name.")
    flags.DEFINE_integer("model_version", None,
                         "Version to call; default: the server's latest.")
    flags.DEFINE_list("protocols", ["grpc", "rest"], "grpc and/or rest.")
    flags.DEFINE_integer("num_samples", 8, "Images per call.")
    flags.DEFINE_integer("noise_dim", 32,
                         "m' of the served model (FlexAE.noise_dim).")
    flags.DEFINE_integer("seed", 0, "Seed of sample_seeded and the noise.")
    flags.DEFINE_string("output_dir", "served_images", "Where PNGs go.")
    flags.DEFINE_float("timeout", 30.0, "Seconds per call.")


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}.")
    if not FLAGS.model_name:
        cli.fail("--model_name is required (TF Serving's --model_name).")
    if FLAGS.num_samples < 2:
        cli.fail("--num_samples must be >= 2 (interpolate pairs them).")
    unknown = set(FLAGS.protocols) - {"grpc", "rest"}
    if unknown:
        cli.fail(f"--protocols: unknown {sorted(unknown)}; use grpc, rest.")
    try:
        paths = call_and_save(
            FLAGS.host, FLAGS.model_name, FLAGS.output_dir, FLAGS.grpc_port,
            FLAGS.rest_port, FLAGS.model_version, FLAGS.protocols,
            FLAGS.num_samples, FLAGS.noise_dim, FLAGS.seed, FLAGS.timeout)
    except (wire.ServingError, urllib.error.URLError, ValueError) as e:
        # ValueError includes extras.MissingExtra.
        cli.fail(e)
    logging.info("Wrote %d PNGs to %s", len(paths), FLAGS.output_dir)


def run():
    """Console-script entry point (pyproject.toml)."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
