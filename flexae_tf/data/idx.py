"""The one IDX reader (the MNIST / Fashion-MNIST file format): images and
labels, gzipped or not, with one clear error for a wrong or damaged file."""

import gzip
import os

import numpy as np

from flexae_tf.core import errors

_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049
# File-name prefix of each split in the IDX layout.
SPLIT_PREFIX = {"train": "train", "test": "t10k"}


class DataError(errors.UserError):
    """A data file is missing, damaged or of the wrong kind."""


def split_path(data_dir, name, split, kind="images"):
    """`<data_dir>/<name>/<prefix>-<kind>-idx?-ubyte[.gz]`, whichever is
    present (gzipped first), or None."""
    suffix = "idx3-ubyte" if kind == "images" else "idx1-ubyte"
    stem = os.path.join(data_dir, name,
                        f"{SPLIT_PREFIX[split]}-{kind}-{suffix}")
    for candidate in (stem + ".gz", stem):
        if os.path.exists(candidate):
            return candidate
    return None


def _read(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"Cannot read {path}: {e}. Replace the file with an "
                        "intact copy.") from e


def read_images(path):
    """uint8 [n, rows, cols] of an IDX3 image file."""
    raw = _read(path)
    if len(raw) < 16:
        raise DataError(f"{path}: {len(raw)} bytes, too short for an IDX "
                        "header. Replace the file with an intact copy.")
    magic, count, rows, cols = np.frombuffer(raw[:16], ">u4")
    if magic != _IMAGE_MAGIC:
        raise DataError(f"{path}: magic number {magic}, expected "
                        f"{_IMAGE_MAGIC} (IDX images). Wrong or corrupt file.")
    if count == 0:
        raise DataError(f"{path}: the header says 0 images. Replace the "
                        "file with an intact copy.")
    expected = int(count) * int(rows) * int(cols)
    if len(raw) - 16 != expected:
        raise DataError(
            f"{path}: header promises {count} images of {rows}x{cols} "
            f"({expected} bytes) but {len(raw) - 16} follow: the file is "
            "truncated or corrupt. Replace it with an intact copy.")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(count, rows, cols)


def read_labels(path):
    """uint8 labels [n] of an IDX1 label file."""
    raw = _read(path)
    if len(raw) < 8:
        raise DataError(f"{path}: {len(raw)} bytes, too short for an IDX "
                        "header. Replace the file with an intact copy.")
    magic, count = np.frombuffer(raw[:8], ">u4")
    if magic != _LABEL_MAGIC or len(raw) - 8 != count:
        raise DataError(f"{path} is not an intact IDX label file. Replace "
                        "it with an intact copy.")
    return np.frombuffer(raw, np.uint8, offset=8)
