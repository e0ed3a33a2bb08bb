"""Where the project's files live (writing them: `flexae_tf.core.io`).

The repository never contains datasets or weights. They live in a `shared/`
directory next to the checkout (as on the project's CI) or wherever the
environment variables below point.
"""

import os

# flexae_tf/, the package (this module lives in flexae_tf/core/).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(PACKAGE_DIR)


def gin_root():
    """The directory whose `gin/` holds the gin sheets.

    In a checkout the sheets sit at the repository's top level (REPO_ROOT);
    an installed wheel carries them as `flexae_tf/gin/` (pyproject.toml
    maps the package `flexae_tf.gin` onto the top-level directory).
    """
    if os.path.isdir(os.path.join(PACKAGE_DIR, "gin")):
        return PACKAGE_DIR
    return REPO_ROOT


def shared_dir():
    """`$FLEXAE_SHARED_DIR`, else `../shared` beside the checkout."""
    return os.environ.get(
        "FLEXAE_SHARED_DIR", os.path.join(os.path.dirname(REPO_ROOT), "shared")
    )


def default_data_dir():
    """`$FLEXAE_DATA_DIR`, else `<shared>/datasets` (IDX layout)."""
    return os.environ.get(
        "FLEXAE_DATA_DIR", os.path.join(shared_dir(), "datasets")
    )


def default_fid_weights():
    """Where the FID Inception weights are read from.

    `$FLEXAE_FID_WEIGHTS`, else `<shared>/fid_inception/weights.npz` where
    that file exists, else the per-user cache that `flexae-fid-weights`
    fills (`fid_weights_cache()`), so a fresh clone needs one command.
    """
    if "FLEXAE_FID_WEIGHTS" in os.environ:
        return os.environ["FLEXAE_FID_WEIGHTS"]
    shared = os.path.join(shared_dir(), "fid_inception", "weights.npz")
    return shared if os.path.isfile(shared) else fid_weights_cache()


def fid_weights_cache():
    """~/.cache/flexae_tf/fid_inception/weights.npz (flexae-fid-weights)."""
    return os.path.join(os.path.expanduser("~"), ".cache", "flexae_tf",
                        "fid_inception", "weights.npz")

