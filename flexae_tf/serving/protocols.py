"""TF Serving's two wire protocols for the exported signatures: building
gRPC and REST requests, sending them, parsing the answers (pure functions
but the two `predict_*` calls)."""

import json
import urllib.error
import urllib.request

import numpy as np
import tensorflow as tf

from flexae_tf.core import extras

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
