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

Request building and response parsing are pure functions, tested against
tests/serving_test_server.py.
"""

import json
import os
import urllib.error
import urllib.request

from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

from flexae_tf.core import cli
from flexae_tf.core import extras
from flexae_tf.core import summaries

# What flexae_tf.export writes: {signature: ({input: dtype}, output)}.
SIGNATURES = {
    "serving_default": ({"noise": np.float32}, "images"),
    "sample_seeded": ({"num_samples": np.int32, "seed": np.int64}, "images"),
    "encode": ({"images": np.float32}, "z"),
    "decode": ({"z": np.float32}, "images"),
    "reconstruct": ({"images": np.float32}, "images"),
    "interpolate": ({"image_a": np.float32, "image_b": np.float32,
                     "num_steps": np.int32}, "images"),
}
REST_FORMS = ("instances", "inputs")
MAX_RESPONSE_BYTES = 256 << 20


class ServingError(RuntimeError):
    """The server answered with an error; the message is the server's."""


def _typed(signature_name, inputs):
    dtypes, _ = SIGNATURES[signature_name]
    if set(inputs) != set(dtypes):
        raise ValueError(f"{signature_name} takes inputs {sorted(dtypes)}, "
                         f"got {sorted(inputs)}.")
    return {name: np.asarray(value, dtypes[name])
            for name, value in inputs.items()}


def grpc_request(model_name, signature_name, inputs, version=None):
    """PredictRequest for one signature; inputs: {name: array-like}."""
    predict_pb2 = extras.require("tensorflow_serving.apis.predict_pb2",
                                 "serving")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = version
    for name, value in _typed(signature_name, inputs).items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def parse_grpc_response(response):
    """PredictResponse -> {output name: np.ndarray}."""
    return {name: tf.make_ndarray(proto)
            for name, proto in response.outputs.items()}


def rest_url(host, port, model_name, version=None):
    path = f"/v1/models/{model_name}"
    if version is not None:
        path += f"/versions/{version}"
    return f"http://{host}:{port}{path}:predict"


def rest_request(signature_name, inputs, form):
    """JSON body of a REST :predict call, in the row or columnar form.

    Args:
      signature_name: a key of SIGNATURES.
      inputs: {input name: array-like}.
      form: "instances" (row: one object per batch element) or "inputs"
        (columnar: one tensor per input).

    Raises:
      ValueError: the row form for an input without a batch dimension.
    """
    inputs = _typed(signature_name, inputs)
    body = {"signature_name": signature_name}
    if form == "inputs":
        body["inputs"] = {k: v.tolist() for k, v in inputs.items()}
        return body
    if form != "instances":
        raise ValueError(f"form={form!r}; expected one of {REST_FORMS}.")
    scalars = sorted(k for k, v in inputs.items() if v.ndim == 0)
    sizes = {len(v) for v in inputs.values() if v.ndim}
    if scalars or len(sizes) > 1:
        raise ValueError(
            f"{signature_name}: the row form needs one batch size on every "
            f"input (scalar inputs: {scalars}); use the columnar form.")
    batch = sizes.pop()
    body["instances"] = [{k: v[i].tolist() for k, v in inputs.items()}
                         for i in range(batch)]
    return body


def parse_rest_response(body, output_names):
    """{output name: np.ndarray} from a REST :predict response body.

    TF Serving omits the output name when a signature has one output;
    `output_names` supplies it then.

    Raises:
      ServingError: the body is an error response.
    """
    if "error" in body:
        raise ServingError(body["error"])
    if isinstance(output_names, str):
        output_names = [output_names]
    if "outputs" in body:  # Columnar.
        outputs = body["outputs"]
        if isinstance(outputs, dict):
            return {k: np.asarray(v, np.float32) for k, v in outputs.items()}
        return {output_names[0]: np.asarray(outputs, np.float32)}
    if "predictions" not in body:
        raise ServingError(f"Neither outputs nor predictions in {list(body)}")
    rows = body["predictions"]
    if rows and isinstance(rows[0], dict):  # Row form, several outputs.
        return {k: np.asarray([row[k] for row in rows], np.float32)
                for k in rows[0]}
    return {output_names[0]: np.asarray(rows, np.float32)}


def predict_grpc(channel, request, timeout=30.0):
    """Sends a PredictRequest; ServingError with the server's message."""
    grpc = extras.require("grpc", "serving")
    stubs = extras.require(
        "tensorflow_serving.apis.prediction_service_pb2_grpc", "serving")
    stub = stubs.PredictionServiceStub(channel)
    try:
        return parse_grpc_response(stub.Predict(request, timeout=timeout))
    except grpc.RpcError as e:
        raise ServingError(f"{e.code().name}: {e.details()}") from e


def predict_rest(url, body, output_names, timeout=30.0):
    """POSTs a JSON body; ServingError with the server's message."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as e:
        text = e.read(MAX_RESPONSE_BYTES)
        try:
            message = json.loads(text).get("error", text)
        except ValueError:
            message = text
        raise ServingError(f"HTTP {e.code}: {message}") from e
    return parse_rest_response(json.loads(text), output_names)


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
    for name in SIGNATURES:
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
            callers["grpc"] = lambda name, inputs: predict_grpc(
                channel, grpc_request(model_name, name, inputs, version),
                timeout)[SIGNATURES[name][1]]
        if "rest" in protocols:
            url = rest_url(host, rest_port, model_name, version)
            for form in REST_FORMS:
                callers[f"rest_{form}"] = _rest_caller(url, form, timeout)
        paths = []
        for label, predict in callers.items():
            results = call_all(predict, num_samples, noise_dim, seed)
            for name, output in results.items():
                if name == "encode":
                    continue  # Codes, not images.
                path = os.path.join(output_dir, f"{label}_{name}.png")
                with open(path, "wb") as f:
                    f.write(summaries.to_png(to_grid(output)))
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
        output = SIGNATURES[name][1]
        return predict_rest(url, rest_request(name, inputs, use), output,
                            timeout)[output]
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
    except (ServingError, urllib.error.URLError, ValueError) as e:
        # ValueError includes extras.MissingExtra.
        cli.fail(e)
    logging.info("Wrote %d PNGs to %s", len(paths), FLAGS.output_dir)


def run():
    """Console-script entry point (pyproject.toml)."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
