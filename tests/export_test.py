"""SavedModel and TFLite export: layout, signatures, numbers, errors.

One tiny model is trained and exported through the CLIs once per module;
every signature is then checked against the Keras model, in-process
(tf.saved_model.load) and through saved_model_cli (graph mode, as TF
Serving runs it).
"""

import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)  # pytest does not add the repo root.

import flexae_tf  # pylint: disable=g-import-not-at-top,unused-import
from absl import logging
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.storage import artifacts
from flexae_tf.storage import checkpoints
from flexae_tf.core import cli
from flexae_tf import export
from flexae_tf.models import factory
from flexae_tf.serving import signatures
from flexae_tf.serving import tflite
from tests import helpers

SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable),
                               "saved_model_cli")
# Max |TFLite - Keras| per variant, images in [0, 1]. float32 is the same
# arithmetic; float16 rounds weights to 11 significant bits; int8 weights
# have 256 levels per channel (measured on a trained model: see
# saved_models/README.md).
TFLITE_BOUNDS = {"float32": 1e-5, "float16": 1e-2, "int8": 5e-2}
# Under `pytest -n` (with pyproject's `--dist loadgroup`) every test here
# runs on one worker: split over two, each built the `run` fixture below,
# about 30 s of training, exporting and CLI processes, twice.
pytestmark = pytest.mark.xdist_group("export")


def _python(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, *args], cwd=REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_env(), **kwargs)


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(
        [REPO_ROOT] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def _finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def _check(process, timeout=300):
    code, stdout, stderr = _finish(process, timeout)
    assert code == 0, f"exit {code}\n{stdout}\n{stderr[-3000:]}"


@pytest.fixture(scope="module")
def run(tiny_run, tmp_path_factory):
    """Trains (2 iterations) and exports once; loads both back.

    The CLI runs that only read the result start as soon as it exists and
    run beside the in-process tests: each TF process spends seconds
    importing TensorFlow, and this machine has 2 cores.
    """
    root = tmp_path_factory.mktemp("export")
    model_dir, export_dir = str(root / "model"), str(root / "saved")
    (root / "empty").mkdir()
    (root / "a_file").write_text("")
    keras_model = _keras_artifacts(root)
    out = f"--export_dir={root / 'out'}"
    good = f"--model_dir={root / 'good.keras'}"
    errors = {  # These need no trained model: run while it trains.
        "missing": _python("-m", "flexae_tf.export",
                           f"--model_dir={root / 'nope'}", out),
        "empty": _python("-m", "flexae_tf.export",
                         f"--model_dir={root / 'empty'}", out),
        "non_finite": _python("-m", "flexae_tf.export",
                              f"--model_dir={root / 'nan.keras'}", out),
        "version_above_int64": _python("-m", "flexae_tf.export", good, out,
                                       f"--version={2**63}"),
        "unknown_flag": _python("-m", "flexae_tf.export", good, out,
                                "--no_such_flag=1"),
    }
    helpers.copy_run(tiny_run, model_dir)  # Export writes nothing there.
    exporting = _python("-m", "flexae_tf.export", f"--model_dir={model_dir}",
                        f"--export_dir={export_dir}")
    model, _, _ = checkpoints.load_trained(model_dir)
    gin.clear_config()  # load_trained replaced the process's config.
    _check(exporting)
    snapshot = _snapshot(export_dir)
    errors["version"] = _python(
        "-m", "flexae_tf.export", f"--model_dir={model_dir}",
        f"--export_dir={export_dir}", "--version=1")
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(5,) + model.image_shape).astype(np.float32)
    cases = _signature_cases(model, images)
    cli = _start_saved_model_cli(os.path.join(export_dir, "1"), cases,
                                 root / "cli")
    yield {"model_dir": model_dir, "export_dir": export_dir, "root": root,
           "keras_model": keras_model,
           "model": model, "images": images, "cases": cases,
           "errors": errors, "snapshot": snapshot, "cli": cli,
           "loaded": tf.saved_model.load(os.path.join(export_dir, "1"))}
    for process in list(errors.values()) + [p for p, _ in cli.values()]:
        if process.poll() is None:
            process.kill()
            process.wait()


def _keras_artifacts(root):
    """good.keras (a tiny untrained model) and nan.keras (one NaN weight)."""
    cli.load_gin(["gin/tiny.gin"], [])
    model = factory.make_model((28, 28, 1))
    gin.clear_config()
    model.save(str(root / "good.keras"))
    kernel = model.decoder.to_pixels.kernel
    kernel.assign(np.where(np.arange(kernel.shape[-1]) == 0, np.nan,
                           kernel.numpy()))
    model.save(str(root / "nan.keras"))
    kernel.assign(np.nan_to_num(kernel.numpy()))
    return keras.saving.load_model(str(root / "good.keras"))


def _start_saved_model_cli(path, cases, out_dir):
    """`show --all` and `run` for one signature with each input kind."""
    out_dir.mkdir()
    processes = {"show": (_cli("show", "--dir", path, "--all"), None)}
    for name in ("serving_default", "interpolate"):
        inputs = cases[name][0]
        arrays = {k: v for k, v in inputs.items() if np.ndim(v)}
        scalars = {k: int(v) for k, v in inputs.items() if not np.ndim(v)}
        npz = str(out_dir / f"{name}.npz")
        np.savez(npz, **arrays)
        outdir = out_dir / name
        processes[name] = (_cli(
            "run", "--dir", path, "--tag_set", "serve", "--signature_def",
            name, f"--outdir={outdir}",
            "--inputs=" + ";".join(f"{k}={npz}[{k}]" for k in arrays),
            "--input_exprs=" + ";".join(f"{k}={v}"
                                        for k, v in scalars.items())), outdir)
    return processes


def _signature_cases(model, images):
    """{signature: (inputs, Keras outputs)} for the Keras model."""
    noise = np.random.default_rng(1).standard_normal(
        (4, model.noise_dim)).astype(np.float32)
    codes = model.encode(images).numpy()
    return {
        "serving_default": ({"noise": noise},
                            {"images": model.generate(noise)}),
        "sample_seeded": ({"num_samples": np.int32(3), "seed": np.int64(7)},
                          {"images": model.sample(3, seed=7)}),
        "encode": ({"images": images}, {"z": codes}),
        "decode": ({"z": codes}, {"images": model.decode(codes)}),
        "reconstruct": ({"images": images},
                        {"images": model.reconstruct(images)}),
        "interpolate": (
            {"image_a": images[:2], "image_b": images[2:4],
             "num_steps": np.int32(4)},
            {"images": model.interpolate(images[:2], images[2:4], 4)}),
    }


def test_layout(run):
    export_dir = run["export_dir"]
    assert sorted(os.listdir(export_dir)) == ["1", "tflite"]  # No staging.
    assert sorted(os.listdir(os.path.join(export_dir, "1"))) == [
        "assets", "fingerprint.pb", "saved_model.pb", "variables"]
    assert sorted(os.listdir(export.tflite_dir(export_dir, 1))) == [
        f"sampler_{v}.tflite" for v in sorted(tflite.TFLITE_VARIANTS)]


def test_signatures_have_named_typed_inputs_and_outputs(run):
    model, loaded = run["model"], run["loaded"]
    h_w_c = list(model.image_shape)
    images, z = [None] + h_w_c, [None, model.latent_dim]
    expected = {
        "serving_default": ({"noise": ([None, model.noise_dim], tf.float32)},
                            {"images": images}),
        "sample_seeded": ({"num_samples": ([], tf.int32),
                           "seed": ([], tf.int64)}, {"images": images}),
        "encode": ({"images": (images, tf.float32)}, {"z": z}),
        "decode": ({"z": (z, tf.float32)}, {"images": images}),
        "reconstruct": ({"images": (images, tf.float32)},
                        {"images": images}),
        "interpolate": ({"image_a": (images, tf.float32),
                         "image_b": (images, tf.float32),
                         "num_steps": ([], tf.int32)},
                        {"images": [None, None] + h_w_c}),
    }
    assert set(loaded.signatures) == set(expected) == set(signatures.SIGNATURES)
    for name, (inputs, outputs) in expected.items():
        signature = loaded.signatures[name]
        specs = signature.structured_input_signature[1]
        assert {k: (s.shape.as_list(), s.dtype) for k, s in specs.items()
                } == inputs, name
        assert {k: s.shape.as_list()
                for k, s in signature.structured_outputs.items()
                } == outputs, name
        assert all(s.dtype == tf.float32
                   for s in signature.structured_outputs.values())


def test_only_inference_variables(run):
    model, export_dir = run["model"], run["export_dir"]
    stored = [shape for key, shape in tf.train.list_variables(
        os.path.join(export_dir, "1", "variables", "variables"))
              if key.endswith("VARIABLE_VALUE")]
    wanted = signatures.inference_variables(model)
    assert sorted(map(tuple, stored)) == sorted(
        tuple(v.shape) for v in wanted)  # Each stored once, nothing else.
    names = [v.name for v in run["loaded"].inference_variables]
    assert len(names) == len(wanted)
    for name in names:
        assert name.split("/")[0] in ("encoder", "decoder",
                                      "prior_generator"), name
    assert len(model.latent_critic.variables) > 0  # Existed, not exported.


@pytest.mark.parametrize("name", signatures.SIGNATURES)
def test_signature_matches_keras(run, name):
    inputs, expected = run["cases"][name]
    outputs = run["loaded"].signatures[name](
        **{k: tf.constant(v) for k, v in inputs.items()})
    assert set(outputs) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(outputs[key], value, atol=1e-5)


def test_batch_norm_runs_in_inference_mode(run):
    encode = run["loaded"].signatures["encode"]
    images = run["images"]
    batch = encode(images=tf.constant(images))["z"].numpy()
    single = encode(images=tf.constant(images[:1]))["z"].numpy()
    # Batch statistics would make an example's code depend on the others.
    np.testing.assert_allclose(batch[:1], single, atol=1e-5)


def test_sample_seeded_is_deterministic(run):
    sample = run["loaded"].signatures["sample_seeded"]
    def call(seed):
        return sample(num_samples=tf.constant(2),
                      seed=tf.constant(seed, tf.int64))["images"].numpy()
    np.testing.assert_array_equal(call(3), call(3))
    assert np.abs(call(3) - call(4)).max() > 1e-4


@pytest.mark.parametrize("name,inputs,message", [
    ("decode", {"z": tf.zeros([2, 33])}, "Shape of tensor z"),
    ("encode", {"images": tf.zeros([2, 28, 28, 3])}, "Shape of tensor images"),
    ("encode", {"images": tf.zeros([2, 28, 28, 1], tf.float64)}, "double"),
    ("sample_seeded", {"num_samples": tf.constant([2]),
                       "seed": tf.constant(1, tf.int64)},
     "Shape of tensor num_samples"),
    ("sample_seeded", {"num_samples": tf.constant(-1),
                       "seed": tf.constant(1, tf.int64)}, "num_samples"),
    ("interpolate", {"image_a": tf.zeros([2, 28, 28, 1]),
                     "image_b": tf.zeros([3, 28, 28, 1]),
                     "num_steps": tf.constant(3)}, "same batch size"),
    ("interpolate", {"image_a": tf.zeros([2, 28, 28, 1]),
                     "image_b": tf.zeros([2, 28, 28, 1]),
                     "num_steps": tf.constant(0)}, "num_steps must be >= 1"),
])
def test_bad_inputs_fail_at_the_signature(run, name, inputs, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        run["loaded"].signatures[name](**inputs)


def _cli(*args):
    return subprocess.Popen([SAVED_MODEL_CLI, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())


@pytest.fixture(scope="module")
def session(run):
    """The export loaded in graph mode, as TF Serving and saved_model_cli
    load it."""
    graph = tf.Graph()
    graph_session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():  # Not across the yield: other tests are eager.
        meta_graph = tf.compat.v1.saved_model.load(
            graph_session, ["serve"], os.path.join(run["export_dir"], "1"))
    yield graph_session, meta_graph.signature_def
    graph_session.close()


@pytest.mark.parametrize("name", signatures.SIGNATURES)
def test_graph_mode_matches_keras(run, session, name):
    graph_session, signatures = session
    inputs, expected = run["cases"][name]
    signature = signatures[name]
    outputs = graph_session.run(
        {k: v.name for k, v in signature.outputs.items()},
        {signature.inputs[k].name: v for k, v in inputs.items()})
    assert set(outputs) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(outputs[key], value, atol=1e-5)


def test_saved_model_cli_show(run):
    code, stdout, stderr = _finish(run["cli"]["show"][0])
    assert code == 0, stderr[-2000:]
    for name in signatures.SIGNATURES:
        assert f"signature_def['{name}']" in stdout
    for line in ("inputs['noise']", "inputs['num_samples']", "DT_INT64",
                 "inputs['image_a']", "inputs['num_steps']", "outputs['z']",
                 "shape: (-1, -1, 28, 28, 1)", "shape: (-1, 32)"):
        assert line in stdout


@pytest.mark.parametrize("name", ["serving_default", "interpolate"])
def test_saved_model_cli_run_matches_keras(run, name):
    process, outdir = run["cli"][name]
    code, _, stderr = _finish(process)
    assert code == 0, stderr[-3000:]
    for key, value in run["cases"][name][1].items():
        np.testing.assert_allclose(np.load(outdir / f"{key}.npy"), value,
                                   atol=1e-5)


@pytest.mark.parametrize("variant", tflite.TFLITE_VARIANTS)
def test_tflite_sampler_matches_keras(run, variant):
    model = run["model"]
    path = os.path.join(export.tflite_dir(run["export_dir"], 1),
                        f"sampler_{variant}.tflite")
    noise = np.random.default_rng(2).standard_normal(
        (1, model.noise_dim)).astype(np.float32)  # The static batch: 1.
    diff = np.abs(tflite.run_tflite(path, noise)
                  - model.generate(noise).numpy()).max()
    logging.info("TFLite %s: max |diff| %.3g, %d bytes", variant, diff,
                 os.path.getsize(path))
    assert diff <= TFLITE_BOUNDS[variant]


def test_tflite_sizes_and_benchmark(run):
    directory = export.tflite_dir(run["export_dir"], 1)
    sizes = {v: os.path.getsize(os.path.join(directory, f"sampler_{v}.tflite"))
             for v in tflite.TFLITE_VARIANTS}
    assert sizes["int8"] < sizes["float16"] < sizes["float32"]
    ms = tflite.benchmark_tflite(
        os.path.join(directory, "sampler_float32.tflite"), runs=3, warmup=1)
    assert 0 < ms < 1000


def test_choose_version(tmp_path):
    assert export.choose_version(str(tmp_path / "missing")) == 1
    for name in ("1", "3", "tflite", ".export-4-x"):
        (tmp_path / name).mkdir()
    assert export.choose_version(str(tmp_path)) == 4  # Integers only.
    assert export.choose_version(str(tmp_path), 2) == 2
    for bad in (1, 0):
        with pytest.raises(export.ExportError):
            export.choose_version(str(tmp_path), bad)
    (tmp_path / "tflite" / "v2").mkdir()  # A TFLite leftover blocks v2 too.
    with pytest.raises(export.ExportError, match="never overwrite"):
        export.choose_version(str(tmp_path), 2)
    (tmp_path / "file").write_text("")
    with pytest.raises(export.ExportError, match="is a file"):
        export.choose_version(str(tmp_path / "file"))
    with pytest.raises(export.ExportError, match="lies under the file"):
        export.choose_version(str(tmp_path / "file" / "a" / "b"))

    for bad in (2**63, -3):  # TF Serving reads int64 version names.
        with pytest.raises(export.ExportError, match="from 1 to"):
            export.choose_version(str(tmp_path), bad)
    assert export.choose_version(str(tmp_path), 2**63 - 1) == 2**63 - 1


def test_a_tflite_leftover_does_not_block_the_next_export(run, tmp_path):
    """tflite/v1 without 1/ (e.g. 1/ deleted by hand) gives version 2."""
    export_dir = tmp_path / "saved"
    (export_dir / "tflite" / "v1").mkdir(parents=True)
    version, path, _ = export.export(run["model"], str(export_dir),
                                     tflite=False)
    assert (version, path) == (2, str(export_dir / "2"))
    with pytest.raises(export.ExportError, match="never overwrite"):
        export.export(run["model"], str(export_dir), version=1, tflite=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(export.ExportError, match="lies under the file"):
        export.export(run["model"], str(tmp_path / "file" / "a"),
                      tflite=False)


def test_non_finite_weights_are_refused(run, tmp_path):
    model = run["keras_model"]
    kernel = model.prior_generator.out.kernel
    saved = kernel.numpy()
    kernel.assign(np.full(saved.shape, np.inf, np.float32))
    try:
        with pytest.raises(export.ExportError, match="NaN or infinite"):
            export.export(model, str(tmp_path / "saved"), tflite=False)
    finally:
        kernel.assign(saved)
    assert not (tmp_path / "saved").exists()  # Nothing written.


def test_export_from_a_keras_file_matches_keras(run, tmp_path):
    model, _, _ = artifacts.load_model_or_run(str(run["root"] / "good.keras"))
    _, path, _ = export.export(model, str(tmp_path), tflite=False)
    loaded = tf.saved_model.load(path)
    model = run["keras_model"]
    cases = _signature_cases(model, run["images"])
    for name in ("sample_seeded", "reconstruct"):
        inputs, expected = cases[name]
        outputs = loaded.signatures[name](
            **{k: tf.constant(v) for k, v in inputs.items()})
        np.testing.assert_allclose(outputs["images"], expected["images"],
                                   atol=1e-5)


def test_next_export_is_a_new_version(run):
    export_dir = str(run["root"] / "again")
    version, path, tflite_paths = export.export(
        run["model"], export_dir, tflite=False)
    assert (version, tflite_paths) == (1, {})
    before = _snapshot(path)
    version, path_2, _ = export.export(run["model"], export_dir, tflite=False)
    assert version == 2 and path_2 == os.path.join(export_dir, "2")
    assert _snapshot(path) == before
    assert sorted(os.listdir(export_dir)) == ["1", "2"]


def _snapshot(directory):
    """{relative path: bytes} of every file under directory."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                files[os.path.relpath(os.path.join(root, name), directory)] = (
                    f.read())
    return files


@pytest.mark.parametrize("name,message", [
    ("missing", "does not exist"),
    ("empty", "is not a trained model directory"),
    ("version", "already exists; exports never overwrite"),
    ("non_finite", "hold NaN or infinite values"),
    ("version_above_int64", "--version=9223372036854775808"),
    ("unknown_flag", "Unknown command line flag 'no_such_flag'"),
])
def test_cli_errors(run, name, message):
    code, _, stderr = _finish(run["errors"][name])
    assert code == 2, stderr[-2000:]
    error_lines = [l for l in stderr.splitlines() if l.startswith("error: ")]
    assert len(error_lines) == 1, stderr[-2000:]
    assert message in error_lines[0]
    for noise in ("Traceback", "FATAL", "helpshort"):
        assert noise not in stderr, stderr[-2000:]
    assert not os.path.exists(run["root"] / "out")
    assert _snapshot(run["export_dir"]) == run["snapshot"]  # Untouched.


def test_check_restorable(run):
    export.check_restorable(run["model"])  # Every weight was restored.
    model = run["model"]

    class InAList(keras.Model):
        """A network whose layer only a Python list holds."""

        def __init__(self):
            super().__init__()
            self.blocks = [keras.layers.Dense(3)]

        def call(self, x):
            return self.blocks[0](x)

    hidden_list = InAList()
    hidden_list(np.zeros((1, 2), np.float32))

    class Hidden:  # Stands in for a model with such a network.
        def trackables(self, inference_only):
            del inference_only  # Unused.
            return {"encoder": model.encoder, "decoder": model.decoder,
                    "prior_generator": hidden_list}

    with pytest.raises(export.ExportError, match="not restored"):
        export.check_restorable(Hidden())
