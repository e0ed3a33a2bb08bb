r"""SavedModelTestServer: a TEST stand-in for TF Serving's predict APIs.

This is NOT TensorFlow Serving and not for production. It answers the two
calls flexae_tf/serving/client.py makes, in the wire formats TF Serving
documents, so the client can be tested where the TF Serving binary is not
installed:

  REST  POST /v1/models/<name>[/versions/<N>]:predict with signature_name
        and "instances" (row) or "inputs" (columnar); answers
        "predictions" / "outputs" (names omitted for a single output) or
        {"error": ...} with HTTP 400 / 404 / 413.
  gRPC  tensorflow.serving.PredictionService/Predict.

Each version under the export directory is loaded with
tf.saved_model.load and called through its signature. It listens on
127.0.0.1 by default, on free ports, and caps request sizes. Manual use:

  python -m tests.serving_test_server --export_dir=saved_models/mnist \
      --model_name=mnist [--grpc_port=8500] [--rest_port=8501]
"""

from concurrent import futures
import http.server
import json
import os
import re
import threading

from absl import app
from absl import flags
from absl import logging
import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

_PREDICT_PATH = re.compile(
    r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
_HTTP_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: 400,
                grpc.StatusCode.NOT_FOUND: 404}


class RequestError(Exception):
    """A request the server rejects; `code` is a grpc.StatusCode."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class SavedModelTestServer:
    """REST + gRPC predict over the versions of one exported model."""

    def __init__(self, export_dir, model_name, host="127.0.0.1",
                 grpc_port=0, rest_port=0, max_request_bytes=16 << 20,
                 request_timeout=30.0):
        """Loads every integer-named version under export_dir.

        Ports 0 pick free ports; read them from `grpc_port`, `rest_port`
        after `start()`.
        """
        self.model_name = model_name
        self.host = host
        self.grpc_port, self.rest_port = grpc_port, rest_port
        self.max_request_bytes = max_request_bytes
        self.request_timeout = request_timeout
        self.models = {}
        for name in os.listdir(export_dir):
            if name.isdigit():  # What TF Serving takes for a version.
                self.models[int(name)] = tf.saved_model.load(
                    os.path.join(export_dir, name))
        if not self.models:
            raise ValueError(f"No integer-named version in {export_dir}.")
        self._grpc = self._http = self._thread = None

    # ----------------------------------------------------------- predict
    def signature(self, model_name, version, signature_name):
        """(version used, concrete signature function)."""
        if model_name != self.model_name or (
                version is not None and version not in self.models):
            which = (f"Latest({model_name})" if version is None
                     else f"Specific({model_name}, {version})")
            raise RequestError(grpc.StatusCode.NOT_FOUND,
                               f"Servable not found for request: {which}")
        version = max(self.models) if version is None else version
        signature_name = signature_name or "serving_default"
        signatures = self.models[version].signatures
        if signature_name not in signatures:
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Serving signature name: \"{signature_name}\" not found in "
                f"signature def; have {sorted(signatures)}")
        return version, signatures[signature_name]

    def predict(self, fn, inputs, cast=False):
        """Calls a signature; {name: np.ndarray} in and out.

        cast: convert inputs to the signature's dtypes (JSON numbers carry
          no dtype; gRPC tensors do and must match).
        """
        specs = fn.structured_input_signature[1]
        if set(inputs) != set(specs):
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Input names {sorted(inputs)} do not match the signature's "
                f"{sorted(specs)}.")
        try:
            tensors = {k: tf.constant(v, specs[k].dtype if cast else None)
                       for k, v in inputs.items()}
            outputs = fn(**tensors)
        except (tf.errors.OpError, ValueError, TypeError) as e:
            message = getattr(e, "message", None) or str(e)
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               message.strip()) from e
        return {k: v.numpy() for k, v in outputs.items()}

    # -------------------------------------------------------------- REST
    def handle_rest(self, path, body):
        """(HTTP status, JSON-able response) for one POST."""
        match = _PREDICT_PATH.match(path)
        try:
            if not match:
                raise RequestError(grpc.StatusCode.NOT_FOUND,
                                   f"Malformed request: POST {path}")
            version = int(match.group(2)) if match.group(2) else None
            try:
                request = json.loads(body)
            except ValueError as e:
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"JSON parse error: {e}") from e
            _, fn = self.signature(match.group(1), version,
                                   request.get("signature_name"))
            names = sorted(fn.structured_input_signature[1])
            row = _rest_inputs(request, names)
            outputs = self.predict(fn, row[1], cast=True)
        except RequestError as e:
            return _HTTP_STATUS.get(e.code, 500), {"error": str(e)}
        return 200, _rest_outputs(outputs, row_form=row[0])

    # -------------------------------------------------------------- gRPC
    def handle_grpc(self, request, context):
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        try:
            version, fn = self.signature(spec.name, version,
                                         spec.signature_name)
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            outputs = self.predict(fn, inputs)
        except RequestError as e:
            context.abort(e.code, str(e))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = (spec.signature_name or
                                              "serving_default")
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    # ------------------------------------------------------- lifecycle
    def start(self):
        """Starts both servers; returns self."""
        options = [("grpc.max_receive_message_length", self.max_request_bytes)]
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2),
                                 options=options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            _Servicer(self), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port(
            f"{self.host}:{self.grpc_port}")
        self._grpc.start()
        self._http = http.server.ThreadingHTTPServer(
            (self.host, self.rest_port), _handler_class(self))
        self._http.daemon_threads = True
        self.rest_port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        daemon=True)
        self._thread.start()
        logging.info("SavedModelTestServer (not TF Serving): gRPC %s:%d, "
                     "REST %s:%d, versions %s", self.host, self.grpc_port,
                     self.host, self.rest_port, sorted(self.models))
        return self

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._thread.join(timeout=5)
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(timeout=5)
        self._grpc = self._http = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *unused_exc):
        self.stop()


class _Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict only; the other methods answer UNIMPLEMENTED."""

    def __init__(self, server):
        self._server = server

    def Predict(self, request, context):  # pylint: disable=invalid-name
        return self._server.handle_grpc(request, context)


def _rest_inputs(request, names):
    """(row form?, {name: np.ndarray}) from a :predict JSON body."""
    if ("instances" in request) == ("inputs" in request):
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           "Request needs exactly one of 'instances' and "
                           "'inputs'.")
    if "inputs" in request:
        columns = request["inputs"]
        if not isinstance(columns, dict):
            columns = {names[0]: columns} if len(names) == 1 else None
        if columns is None:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               "'inputs' must name each of " + str(names))
        return False, {k: np.asarray(v) for k, v in columns.items()}
    rows = request["instances"]
    if not isinstance(rows, list) or not rows:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           "'instances' must be a non-empty list.")
    if not all(isinstance(row, dict) for row in rows):
        if len(names) != 1:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               "Each instance must name each of " + str(names))
        return True, {names[0]: np.asarray(rows)}
    keys = set(rows[0])
    if any(set(row) != keys for row in rows):
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           "All instances must have the same named inputs.")
    # Stacking adds the batch dimension: a scalar input becomes [n], which
    # the signature rejects, as TF Serving does.
    return True, {k: np.asarray([row[k] for row in rows]) for k in keys}


def _rest_outputs(outputs, row_form):
    """TF Serving's response layout: names omitted for a single output."""
    if row_form:
        if len(outputs) == 1:
            return {"predictions": next(iter(outputs.values())).tolist()}
        batch = len(next(iter(outputs.values())))
        return {"predictions": [{k: v[i].tolist() for k, v in outputs.items()}
                                for i in range(batch)]}
    if len(outputs) == 1:
        return {"outputs": next(iter(outputs.values())).tolist()}
    return {"outputs": {k: v.tolist() for k, v in outputs.items()}}


def _handler_class(server):
    class Handler(http.server.BaseHTTPRequestHandler):
        """POST :predict only; bounded body, socket timeout."""

        timeout = server.request_timeout

        def do_POST(self):  # pylint: disable=invalid-name
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self._reply(411, {"error": "Content-Length needed."})
            if length > server.max_request_bytes:
                return self._reply(413, {"error": "Request too large."})
            self._reply(*server.handle_rest(self.path, self.rfile.read(length)))

        def _reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            logging.debug("REST %s: " + args[0], self.address_string(),
                          *args[1:])

    return Handler


FLAGS = flags.FLAGS


def main(argv):
    del argv  # Unused.
    with SavedModelTestServer(FLAGS.export_dir, FLAGS.model_name,
                              grpc_port=FLAGS.grpc_port,
                              rest_port=FLAGS.rest_port):
        threading.Event().wait()  # Until Ctrl-C.


if __name__ == "__main__":
    flags.DEFINE_string("export_dir", None, "Model base path (export_dir).")
    flags.DEFINE_string("model_name", None, "Name in request URLs.")
    flags.DEFINE_integer("grpc_port", 8500, "gRPC port.")
    flags.DEFINE_integer("rest_port", 8501, "REST port.")
    flags.mark_flags_as_required(["export_dir", "model_name"])
    app.run(main)
