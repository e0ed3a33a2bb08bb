"""Data sources and the training pipeline."""

import gzip
import hashlib
import os

import flexae_tf  # pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.data import datasets as data
from flexae_tf.data import idx
from flexae_tf.core import paths

MNIST = os.path.join(paths.default_data_dir(), "mnist")
pytestmark = pytest.mark.skipif(
    not os.path.isdir(MNIST), reason=f"{MNIST} (../shared) is absent")


def test_reads_official_mnist_idx_exactly():
    images = idx.read_images(
        os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"))
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    with gzip.open(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    # md5 from ../shared/datasets/README.md: header + pixels, byte for byte.
    assert hashlib.md5(raw).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    np.testing.assert_array_equal(images.reshape(-1),
                                  np.frombuffer(raw[16:], np.uint8))


def _write(path, payload):
    with open(path, "wb") as f:
        f.write(payload)


def test_truncated_idx_is_an_error_naming_the_file(tmp_path):
    with gzip.open(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    path = str(tmp_path / "t10k-images-idx3-ubyte")
    _write(path, raw[:16 + 28 * 28 * 10 + 5])
    with pytest.raises(data.DataError, match="truncated") as error:
        idx.read_images(path)
    assert path in str(error.value)


def test_corrupt_gzip_and_wrong_magic_are_errors(tmp_path):
    path = str(tmp_path / "x-images-idx3-ubyte.gz")
    _write(path, b"\x1f\x8b not really gzip")
    with pytest.raises(data.DataError, match=path):
        idx.read_images(path)
    path = str(tmp_path / "y-images-idx3-ubyte")
    _write(path, np.array([2049, 1, 28, 28], ">u4").tobytes() + bytes(784))
    with pytest.raises(data.DataError, match="magic"):
        idx.read_images(path)


def test_missing_dataset_names_both_fixes(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEXAE_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(data.DataError) as error:
        # No download: offline, TFDS would retry until it times out.
        data.load_images("mnist", "test", tfds_dir=str(tmp_path / "tfds"),
                         download=False)
    message = str(error.value)
    assert "FLEXAE_DATA_DIR" in message and "tensorflow_datasets" in message


def test_unknown_dataset_is_an_error():
    with pytest.raises(data.DataError, match="Unknown dataset"):
        data.image_shape("imagenet")


def test_train_pipeline_groups_float_batches():
    dataset = data.train_pipeline("mnist", batch_size=16, group_size=3)
    groups = next(iter(dataset))
    assert groups.shape == (3, 16, 28, 28, 1) and groups.dtype == tf.float32
    values = groups.numpy()
    assert values.min() >= 0.0 and values.max() <= 1.0 and values.max() > 0.9
    assert not np.array_equal(values[0], values[1])  # distinct batches


def test_train_pipeline_shards_and_splits_the_batch():
    context = tf.distribute.InputContext(num_input_pipelines=2,
                                         input_pipeline_id=1,
                                         num_replicas_in_sync=2)
    groups = next(iter(data.train_pipeline("mnist", 16, 2, context)))
    assert groups.shape == (2, 8, 28, 28, 1)


def test_eval_batches_are_in_file_order():
    first = next(iter(data.eval_batches("mnist", "test", 4)))
    raw = idx.read_images(
        os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"))[:4]
    np.testing.assert_allclose(first.numpy()[..., 0], raw / 255.0, atol=1e-7)
