"""flexae_tf.serving.client against SavedModelTestServer (not TF Serving).

The TF Serving binary is not installed here. The test server speaks the
same REST and gRPC predict protocols, backed by a real export of two
untrained tiny models (versions 1 and 2).
"""

import http.client
import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)  # pytest does not add the repo root.

import flexae_tf  # pylint: disable=g-import-not-at-top,unused-import
import gin
import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from flexae_tf.core import cli
from flexae_tf import export
from flexae_tf.models import factory
from flexae_tf.serving import client as serving_client
from flexae_tf.serving import protocols as wire
from tests import serving_test_server

MODEL = "flexae"
CALLERS = ("grpc", "rest_instances", "rest_inputs")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Two exported versions behind a SavedModelTestServer."""
    export_dir = str(tmp_path_factory.mktemp("served") / MODEL)
    cli.parse_gin(["gin/tiny.gin"], [])
    try:
        for version in (1, 2):  # Fresh random weights: versions differ.
            model = factory.make_model((28, 28, 1))
            export.export(model, export_dir, version, tflite=False)
    finally:
        gin.clear_config()
    server = serving_test_server.SavedModelTestServer(export_dir, MODEL)
    with server, grpc.insecure_channel(
            f"127.0.0.1:{server.grpc_port}") as channel:
        yield {"server": server, "model": model, "loaded": server.models,
               "channel": channel}


def _inputs(model):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 28, 28, 1)).astype(np.float32)
    codes = rng.standard_normal((3, model.latent_dim)).astype(np.float32)
    inputs = serving_client.demo_inputs(images, codes, model.noise_dim,
                                        num_steps=3)
    inputs["sample_seeded"] = {"num_samples": 2, "seed": 5}
    return inputs


def _direct(loaded, name, inputs):
    """The signature called in-process: what the server must return."""
    dtypes, output = wire.SIGNATURES[name]
    return loaded.signatures[name](**{
        k: tf.constant(v, dtypes[k]) for k, v in inputs.items()})[
            output].numpy()


def _call(served, caller, name, inputs, version=None):
    server = served["server"]
    output = wire.SIGNATURES[name][1]
    if caller == "grpc":
        request = wire.grpc_request(MODEL, name, inputs, version)
        return wire.predict_grpc(served["channel"], request,
                                           timeout=30)[output]
    url = wire.rest_url("127.0.0.1", server.rest_port, MODEL,
                                  version)
    body = wire.rest_request(name, inputs, caller[len("rest_"):])
    return wire.predict_rest(url, body, output, timeout=30)[output]


# ------------------------------------------------------ pure functions
def test_client_table_matches_the_export(served):
    loaded = served["loaded"][2]
    assert set(loaded.signatures) == set(wire.SIGNATURES)
    for name, (dtypes, output) in wire.SIGNATURES.items():
        signature = loaded.signatures[name]
        specs = signature.structured_input_signature[1]
        assert {k: s.dtype.as_numpy_dtype for k, s in specs.items()} == dtypes
        assert list(signature.structured_outputs) == [output]


def test_rest_request_columnar():
    body = wire.rest_request(
        "interpolate", {"image_a": np.zeros((1, 1)), "image_b": [[0.5]],
                        "num_steps": 2}, "inputs")
    assert body == {"signature_name": "interpolate", "inputs": {
        "image_a": [[0.0]], "image_b": [[0.5]], "num_steps": 2}}
    assert isinstance(body["inputs"]["num_steps"], int)


def test_rest_request_rows():
    body = wire.rest_request("decode", {"z": [[1, 2], [3, 4]]},
                                       "instances")
    assert body == {"signature_name": "decode",
                    "instances": [{"z": [1.0, 2.0]}, {"z": [3.0, 4.0]}]}
    json.dumps(body)  # Plain JSON types only.


@pytest.mark.parametrize("name,inputs,message", [
    ("sample_seeded", {"num_samples": 2, "seed": 1}, "scalar inputs"),
    ("interpolate", {"image_a": np.zeros((2, 1)), "image_b": np.zeros((3, 1)),
                     "num_steps": 2}, "row form"),
    ("decode", {"images": np.zeros((2, 1))}, "takes inputs"),
])
def test_rest_request_rejects(name, inputs, message):
    with pytest.raises(ValueError, match=message):
        wire.rest_request(name, inputs, "instances")


@pytest.mark.parametrize("body,expected", [
    ({"predictions": [[1.0], [2.0]]}, {"images": [[1.0], [2.0]]}),
    ({"outputs": [[1.0], [2.0]]}, {"images": [[1.0], [2.0]]}),
    ({"predictions": [{"a": 1.0, "b": [2.0]}, {"a": 3.0, "b": [4.0]}]},
     {"a": [1.0, 3.0], "b": [[2.0], [4.0]]}),
    ({"outputs": {"a": [1.0, 3.0], "b": [[2.0], [4.0]]}},
     {"a": [1.0, 3.0], "b": [[2.0], [4.0]]}),
])
def test_parse_rest_response(body, expected):
    parsed = wire.parse_rest_response(body, "images")
    assert set(parsed) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(parsed[key], value)
        assert parsed[key].dtype == np.float32


def test_parse_rest_error():
    with pytest.raises(wire.ServingError, match="bad z"):
        wire.parse_rest_response({"error": "bad z"}, "images")


def test_grpc_request_and_response():
    request = wire.grpc_request(
        "m", "sample_seeded", {"num_samples": 3, "seed": 9}, version=4)
    assert (request.model_spec.name, request.model_spec.signature_name,
            request.model_spec.version.value) == ("m", "sample_seeded", 4)
    assert request.inputs["num_samples"].dtype == tf.int32.as_datatype_enum
    assert request.inputs["seed"].dtype == tf.int64.as_datatype_enum
    assert tf.make_ndarray(request.inputs["seed"]).shape == ()
    latest = wire.grpc_request("m", "decode", {"z": [[1.0]]})
    assert not latest.model_spec.HasField("version")
    response = predict_pb2.PredictResponse()
    response.outputs["images"].CopyFrom(tf.make_tensor_proto(
        np.ones((2, 3), np.float32)))
    parsed = wire.parse_grpc_response(response)
    np.testing.assert_array_equal(parsed["images"], np.ones((2, 3)))


# ------------------------------------------- against the test server
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", list(wire.SIGNATURES))
def test_every_signature(served, caller, name):
    inputs = _inputs(served["model"])[name]
    if caller == "rest_instances" and name in ("sample_seeded",
                                               "interpolate"):
        pytest.skip("Row form impossible with scalar inputs; see "
                    "test_row_form_with_scalars_is_rejected.")
    expected = _direct(served["loaded"][2], name, inputs)
    np.testing.assert_allclose(_call(served, caller, name, inputs),
                               expected, atol=1e-6)


def test_row_form_with_scalars_is_rejected(served):
    # Row form stacks instances: both scalars become [1] (either may be
    # reported first), which the signature rejects, as TF Serving would.
    url = wire.rest_url("127.0.0.1", served["server"].rest_port,
                                  MODEL)
    body = {"signature_name": "sample_seeded",
            "instances": [{"num_samples": 2, "seed": 1}]}
    with pytest.raises(wire.ServingError,
                       match=r"(?s)HTTP 400: .*(num_samples|seed) \[1\]"):
        wire.predict_rest(url, body, "images")


@pytest.mark.parametrize("caller", ["grpc", "rest_inputs"])
def test_versions(served, caller):
    inputs = {"z": np.ones((1, served["model"].latent_dim), np.float32)}
    outputs = {v: _call(served, caller, "decode", inputs, v)
               for v in (1, 2, None)}
    for version in (1, 2):
        np.testing.assert_allclose(outputs[version], _direct(
            served["loaded"][version], "decode", inputs), atol=1e-6)
    np.testing.assert_array_equal(outputs[None], outputs[2])  # Latest.
    assert np.abs(outputs[1] - outputs[2]).max() > 1e-4


@pytest.mark.parametrize("caller", ["grpc", "rest_inputs"])
def test_errors_reach_the_client(served, caller):
    z = np.zeros((2, served["model"].latent_dim + 1), np.float32)
    with pytest.raises(wire.ServingError,
                       match=r"Shape of tensor z \[2,33\]"):
        _call(served, caller, "decode", {"z": z})
    with pytest.raises(wire.ServingError,
                       match="NOT_FOUND|HTTP 404"):
        _call(served, caller, "decode", {"z": z[:, :-1]}, version=7)


def test_rest_rejects_oversized_and_malformed(served):
    connection = http.client.HTTPConnection(
        "127.0.0.1", served["server"].rest_port, timeout=10)
    try:
        connection.putrequest("POST", f"/v1/models/{MODEL}:predict")
        connection.putheader("Content-Length", str(1 << 30))
        connection.endheaders()  # Body never sent: rejected on the header.
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    url = f"http://127.0.0.1:{served['server'].rest_port}/v1/models/x:nope"
    with pytest.raises(wire.ServingError, match="HTTP 404"):
        wire.predict_rest(url, {}, "images")


def test_run_writes_png_grids(served, tmp_path):
    server, model = served["server"], served["model"]
    paths = serving_client.call_and_save(
        "127.0.0.1", MODEL, str(tmp_path), server.grpc_port,
        server.rest_port, num_samples=4, noise_dim=model.noise_dim)
    names = sorted(os.path.basename(p) for p in paths)
    assert len(names) == 3 * 5  # 3 callers x 5 image signatures.
    assert "rest_instances_reconstruct.png" in names
    grid = tf.io.decode_png(open(tmp_path / "grpc_sample_seeded.png",
                                 "rb").read()).shape
    assert tuple(grid) == (28, 4 * 28, 1)
    grid = tf.io.decode_png(open(tmp_path / "rest_inputs_interpolate.png",
                                 "rb").read()).shape
    assert tuple(grid) == (2 * 28, 8 * 28, 1)  # 2 pairs x 8 steps.


def test_cli(served, tmp_path):
    server = served["server"]
    common = [sys.executable, "-m", "flexae_tf.serving.client",
              "--host=127.0.0.1", f"--grpc_port={server.grpc_port}",
              f"--rest_port={server.rest_port}", "--num_samples=2"]
    processes = [subprocess.Popen(
        common + args, cwd=REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")) for args in (
            [f"--model_name={MODEL}", "--protocols=grpc",
             f"--output_dir={tmp_path / 'ok'}"],
            ["--model_name=nope", "--protocols=rest",
             f"--output_dir={tmp_path / 'bad'}"])]
    (ok, _, ok_err), (bad, _, bad_err) = [
        (p.wait(timeout=120), *p.communicate()) for p in processes]
    assert ok == 0, ok_err[-2000:]
    assert len(os.listdir(tmp_path / "ok")) == 5
    assert bad == 2, bad_err[-2000:]
    assert "error: HTTP 404: Servable not found" in bad_err
