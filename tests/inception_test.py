"""Tests for flexae_tf.inception: golden features, protocol, errors, tool.

Agreement with the golden features is measured as
max |ours - golden| / max |golden| over the whole array (the README's
"about 1e-3 relative error"), and per-row relative L2 as a second check.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.metrics import inception
from flexae_tf.metrics import inception_network
from flexae_tf.core import paths

_DIR = os.path.join(paths.shared_dir(), "fid_inception")
_TOL = 1e-3
pytestmark = pytest.mark.skipif(
    not os.path.isdir(_DIR),
    reason=f"shared FID Inception files absent ({_DIR}); set "
           "FLEXAE_SHARED_DIR to the shared/ directory")


@pytest.fixture(scope="module")
def model():
    return inception.build_inception(os.path.join(_DIR, "weights.npz"))


@pytest.fixture(scope="module")
def golden():
    with np.load(os.path.join(_DIR, "golden.npz")) as npz:
        return {k: npz[k] for k in npz.files}


def _assert_close_to_golden(ours, golden):
    assert ours.shape == golden.shape
    max_rel = np.max(np.abs(ours - golden)) / np.max(np.abs(golden))
    row_rel = (np.linalg.norm(ours - golden, axis=1)
               / np.linalg.norm(golden, axis=1))
    assert max_rel < _TOL, max_rel
    assert np.max(row_rel) < _TOL, row_rel


def test_network_matches_golden(model, golden):
    ours = model(golden["network_input_nhwc"], training=False).numpy()
    _assert_close_to_golden(ours, golden["network_features"])


def test_protocol_end_to_end_matches_golden_mnist(model, golden):
    # Batch 6 over 16 images: three calls, the last one zero-padded.
    extract = inception.InceptionFeatures(batch_size=6, model=model)
    images = golden["mnist_test_first16_uint8"][..., None] / 255.0
    ours = extract(images)
    assert ours.dtype == np.float32
    _assert_close_to_golden(ours, golden["mnist_test_first16_features"])
    assert extract._run.experimental_get_tracing_count() == 1


def test_bfloat16_compute_stays_near_the_float32_protocol(golden):
    """The opt-in bf16 pass: float32 features within a few percent of the
    golden float32 ones, under its own protocol name (so it never shares
    a feature cache entry or a comparison with float32 numbers)."""
    extract = inception.InceptionFeatures(batch_size=8,
                                          compute_dtype="bfloat16")
    assert extract.model.layers[-1].compute_dtype == "bfloat16"
    images = golden["mnist_test_first16_uint8"][..., None] / 255.0
    ours = extract(images)
    assert ours.dtype == np.float32
    reference = golden["mnist_test_first16_features"]
    max_rel = np.max(np.abs(ours - reference)) / np.max(np.abs(reference))
    # Measured 0.028 on 250 MNIST images (docs/speed.md); float32 is < 1e-3.
    assert 1e-4 < max_rel < 0.05, max_rel
    assert extract.protocol == inception.PROTOCOL + "; bfloat16 compute"
    assert inception.InceptionFeatures(
        model=extract.model).protocol == inception.PROTOCOL


def test_preprocess_is_tf1_legacy_bilinear_resize():
    images = np.random.default_rng(0).uniform(size=(2, 28, 28, 1))
    ours = inception.preprocess(images.astype(np.float32)).numpy()
    legacy = tf.compat.v1.image.resize_bilinear(
        np.tile(images * 255.0, [1, 1, 1, 3]).astype(np.float32), [299, 299],
        align_corners=False, half_pixel_centers=False).numpy()
    np.testing.assert_allclose(ours, (legacy - 128.0) / 128.0, atol=1e-6)
    assert ours.shape == (2, 299, 299, 3)


def _spec_table(spec):
    table = {}

    def visit(entry):
        op = {"conv_bn_relu": "conv"}.get(entry["op"], entry["op"])
        if op in ("conv", "max_pool", "avg_pool"):
            pair = inception_network._pair
            padding = pair(entry["padding"])
            if op == "avg_pool" and padding != (0, 0):
                assert entry["count_include_pad"] is False, entry
            table[entry["name"]] = (
                op, pair(entry.get("kernel_hw", entry.get("kernel"))),
                pair(entry["stride"]), padding)
        for child in entry.get("children", []):
            visit(child)

    for entry in spec:
        visit(entry)
    return table


def test_architecture_matches_spec():
    with open(os.path.join(_DIR, "spec.json")) as f:
        spec_table = _spec_table(json.load(f))
    ours = inception_network.architecture()
    assert list(ours) == list(spec_table)  # Same layers, same order.
    assert ours == spec_table
    assert sum(v[0] == "conv" for v in ours.values()) == 94


def test_model_layers_follow_architecture(model):
    for name, (op, kernel, stride, _) in inception_network.architecture().items():
        layer = model.get_layer(name)
        if op != "conv":
            continue
        assert tuple(layer.kernel_size) == kernel and (
            tuple(layer.strides) == stride), name


def _numpy_pool(x, op, kernel, stride, padding):
    """Brute force over windows, skipping padded cells."""
    b, h, w, c = x.shape
    oh = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    ow = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    out = np.zeros((b, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * stride[0] - padding[0], j * stride[1] - padding[1]
            win = x[:, max(r0, 0):r0 + kernel[0], max(c0, 0):c0 + kernel[1]]
            out[:, i, j] = (win.max(axis=(1, 2)) if op == "max_pool"
                            else win.mean(axis=(1, 2)))
    return out


@pytest.mark.parametrize("op", ["max_pool", "avg_pool"])
@pytest.mark.parametrize("kernel,stride,padding", [
    ((3, 3), (1, 1), (1, 1)),  # The network's case ('same').
    ((3, 3), (2, 2), (1, 1)),  # Not 'same': the explicit path.
    ((3, 2), (2, 1), (1, 0)),
])
def test_pools_exclude_padding(op, kernel, stride, padding):
    x = np.random.default_rng(1).normal(size=(2, 7, 6, 3)).astype(np.float32)
    want = _numpy_pool(x, op, kernel, stride, padding)
    got = inception_network._explicit_pool(tf.constant(x), op, kernel, stride,
                                   padding).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if inception_network._padding_mode(kernel, stride, padding) == "same":
        pool = {"max_pool": tf.nn.max_pool2d, "avg_pool": tf.nn.avg_pool2d}
        same = pool[op](x, kernel, stride, "SAME").numpy()
        np.testing.assert_allclose(same, want, rtol=1e-5, atol=1e-6)


def test_missing_weights_names_file_and_env_var(tmp_path):
    path = str(tmp_path / "nowhere.npz")
    with pytest.raises(FileNotFoundError, match="FLEXAE_FID_WEIGHTS") as e:
        inception.build_inception(path)
    assert path in str(e.value)


def test_corrupt_weights_raise_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="FLEXAE_FID_WEIGHTS"):
        inception.build_inception(str(garbage))
    partial = tmp_path / "partial.npz"
    np.savez(partial, **{"conv/kernel": np.zeros((3, 3, 3, 32))})
    with pytest.raises(ValueError, match="lacks"):
        inception.build_inception(str(partial))


@pytest.mark.parametrize("images,match", [
    (np.zeros((2, 28, 28)), "shape"),
    (np.zeros((2, 28, 28, 2)), "shape"),
    (np.full((2, 28, 28, 1), 1.5), r"\[0, 1\]"),
    (np.full((2, 28, 28, 1), -0.1), r"\[0, 1\]"),
    (np.full((2, 28, 28, 1), np.nan), r"\[0, 1\]"),
    (np.zeros((2, 28, 28, 1), np.uint8), "dtype"),
])
def test_rejects_bad_images(model, images, match):
    with pytest.raises(ValueError, match=match):
        inception.InceptionFeatures(batch_size=2, model=model)(images)
