"""Image datasets as tf.data pipelines of float32 [0, 1] NHWC batches.

Two sources, tried in order:
  1. a local directory in the IDX layout (`<data_dir>/<name>/
     {train,t10k}-images-idx3-ubyte[.gz]`), for MNIST and Fashion-MNIST;
  2. `tensorflow_datasets`, which works wherever a network or an already
     prepared TFDS directory is available.
"""

import os

import gin
import numpy as np
import tensorflow as tf

from flexae_tf.core import paths
from flexae_tf.data import idx

# name: (height, width, channels)
IMAGE_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "celeb_a": (64, 64, 3),
}
IDX_DATASETS = ("mnist", "fashion_mnist")
# A dataset could not be found or read; the message says how to fix it.
DataError = idx.DataError


def image_shape(name):
    if name not in IMAGE_SHAPES:
        raise DataError(f"Unknown dataset {name!r}; choose one of "
                        f"{sorted(IMAGE_SHAPES)} (gin: train.dataset).")
    return IMAGE_SHAPES[name]


def _tfds_images(name, split, tfds_dir, download):
    """(uint8 images, count, None) from TFDS, or (None, None, error)."""
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    try:
        builder = tfds.builder(name, data_dir=tfds_dir, try_gcs=False)
        if download:
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(
                    try_download_gcs=False))
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except Exception as e:  # pylint: disable=broad-except
        return None, None, e
    try:
        # The split's size, so a validation split can be held out.
        count = builder.info.splits[split].num_examples or None
    except (KeyError, ValueError):  # tfds.testing.mock_data has none.
        count = None
    return dataset.map(lambda example: example["image"]), count, None


def _celeb_a_crop(image):
    """Center crop 140x140, resize to 64x64: the WAE / 2S-VAE protocol."""
    image = tf.image.crop_to_bounding_box(image, 39, 19, 140, 140)
    image = tf.image.resize(image, (64, 64), antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


SPLITS = ("train", "validation", "test")


@gin.configurable(denylist=["name", "split"])
def load_images(name, split="train", data_dir=None, tfds_dir=None,
                validation_size=5000, download=True):
    """uint8 images [H, W, C] of a split as a tf.data.Dataset.

    The "validation" split is held out from the training images: the last
    `validation_size` images of the dataset's training file / TFDS split.
    "train" is the rest, so everything that reads "train" (the training
    pipeline included) never sees a validation image. Model selection
    (the standard evaluation protocol) uses "validation"; "test" is only
    ever reported.

    Args:
      name: mnist, fashion_mnist, cifar10 or celeb_a.
      split: "train", "validation" or "test".
      data_dir: local IDX directory; default $FLEXAE_DATA_DIR, else
        ../shared/datasets beside the checkout.
      tfds_dir: TFDS data directory (default: TFDS's own).
      validation_size: training images held out as "validation" (ours;
        the authors train on all of them). 0 trains on every training
        image and leaves no validation split.
      download: let TFDS download and prepare a dataset it does not have.
        False on machines without a network, where a download hangs
        until it times out instead of failing.

    Returns:
      (dataset of uint8 [H, W, C] images, number of images or None).

    Raises:
      DataError: unknown split, no source has the dataset, a local file
        is corrupt, or the validation split does not fit.
    """
    if split not in SPLITS:
        raise DataError(f"Unknown split {split!r}; use one of {SPLITS}.")
    if split == "test":
        return _load_file_split(name, "test", data_dir, tfds_dir, download)
    if not isinstance(validation_size, int) or validation_size < 0:
        raise DataError(f"load_images.validation_size={validation_size!r}: "
                        "must be an integer >= 0.")
    dataset, count = _load_file_split(name, "train", data_dir, tfds_dir,
                                      download)
    if validation_size == 0:
        if split == "validation":
            raise DataError(
                "No validation split: load_images.validation_size=0. Hold "
                "out training images (e.g. 5000) for the standard protocol, "
                "or evaluate with --protocol=authors.")
        return dataset, count
    if count is None:
        count = int(dataset.cardinality())
        if count < 0:
            raise DataError(f"{name}: the training split's size is unknown, "
                            "so no validation split can be held out; set "
                            "load_images.validation_size=0.")
    kept = count - validation_size
    if kept < 1:
        raise DataError(f"load_images.validation_size={validation_size} "
                        f"leaves no training images of {name}'s {count}.")
    if split == "train":
        return dataset.take(kept), kept
    return dataset.skip(kept), validation_size


def _load_file_split(name, split, data_dir, tfds_dir, download=True):
    """The dataset's own "train" or "test" split: (dataset, count or None)."""
    shape = image_shape(name)
    data_dir = data_dir or paths.default_data_dir()
    path = (idx.split_path(data_dir, name, split) if name in IDX_DATASETS
            else None)
    # The data directory holds the dataset's folder: its local files are
    # meant, so a missing split is an error, never a TFDS download (which
    # retries for minutes on an offline machine).
    if path is None and name in IDX_DATASETS and os.path.isdir(
            os.path.join(data_dir, name)):
        stem = os.path.join(data_dir, name,
                            f"{idx.SPLIT_PREFIX[split]}-images-idx3-ubyte")
        raise DataError(
            f"{stem}[.gz] not found: the {split} split of {name} is missing "
            f"from the local files in {os.path.join(data_dir, name)} (gin "
            "load_images.data_dir or $FLEXAE_DATA_DIR). Add the file.")
    if path is not None:
        images = idx.read_images(path)[..., None]
        if images.shape[1:] != shape:
            raise DataError(f"{path}: images are {images.shape[1:]}, "
                            f"expected {shape} for {name}.")
        return tf.data.Dataset.from_tensor_slices(images), len(images)
    dataset, count, error = _tfds_images(name, split, tfds_dir, download)
    if dataset is None:
        local = (f"put the IDX files in {os.path.join(data_dir, name)} "
                 "(gin load_images.data_dir or $FLEXAE_DATA_DIR), or "
                 if name in IDX_DATASETS else "")
        reason = str(error).strip().splitlines()
        raise DataError(
            f"Dataset {name!r} ({split}) not found: {local}make it "
            "available to tensorflow_datasets (a network connection, or a "
            "prepared TFDS directory via load_images.tfds_dir). TFDS said: "
            f"{reason[0] if reason else type(error).__name__}")
    if name == "celeb_a":
        dataset = dataset.map(_celeb_a_crop,
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset, count


def to_float(images):
    """uint8 -> float32 in [0, 1]."""
    return tf.cast(images, tf.float32) / 255.0


def _training_images(name):
    """The whole training split as one uint8 array [n, H, W, C]."""
    dataset, count = load_images(name, split="train")
    if count is None:  # TFDS: no random access, so read it once.
        chunks = list(dataset.batch(4096).as_numpy_iterator())
        return np.concatenate(chunks) if chunks else np.zeros((0,))
    return next(dataset.batch(count).as_numpy_iterator())


@gin.configurable(denylist=["name", "batch_size", "group_size",
                            "input_context", "seed", "start_iteration"])
def train_pipeline(name, batch_size, group_size=1, input_context=None,
                   seed=0, start_iteration=0):
    """Per-replica training stream of [group_size, b, H, W, C] float32.

    The order is a pure function of (seed, iteration): image position k of
    a pipeline's stream is `index_shuffle(k mod n)` under the seed of epoch
    k // n, a stateless permutation of the pipeline's n images. A run
    resumed at iteration i therefore reads exactly what an uninterrupted
    run reads from iteration i on.

    Args:
      name: dataset name.
      batch_size: GLOBAL batch size (all replicas together).
      group_size: batches per element (one FlexAE iteration's worth).
      input_context: tf.distribute.InputContext, for sharding and the
        per-replica batch; None means one pipeline, one replica.
      seed: seed of the data order.
      start_iteration: the first element is this iteration's.

    Raises:
      DataError: the split has fewer images than one replica's batch.
    """
    images = _training_images(name)
    per_replica, pipelines, pipeline = batch_size, 1, 0
    if input_context is not None:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
        pipelines = input_context.num_input_pipelines
        pipeline = input_context.input_pipeline_id
    images = images[pipeline::pipelines]
    n = len(images)
    if n < per_replica:
        raise DataError(
            f"Dataset {name!r} has {n} training images per input pipeline, "
            f"fewer than one batch of {per_replica}: use a smaller "
            "train.batch_size or a complete dataset.")
    first = start_iteration * group_size * per_replica
    images = tf.constant(images)

    def epoch_order(epoch):
        order = tf.random.experimental.index_shuffle(
            tf.range(n, dtype=tf.int64),
            tf.stack([tf.cast(seed, tf.int64), epoch * pipelines + pipeline]),
            n - 1)
        return tf.data.Dataset.from_tensor_slices(order)

    indices = tf.data.Dataset.range(first // n, np.iinfo(np.int64).max)
    indices = indices.flat_map(epoch_order).skip(first % n)
    indices = indices.batch(per_replica, drop_remainder=True)
    indices = indices.batch(group_size, drop_remainder=True)
    dataset = indices.map(lambda i: to_float(tf.gather(images, i)),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def eval_batches(name, split="test", batch_size=256, num_images=None):
    """Finite float32 [b, H, W, C] batches of a split, in file order."""
    dataset, _ = load_images(name, split=split)
    if num_images is not None:
        dataset = dataset.take(num_images)
    return dataset.batch(batch_size).map(to_float).prefetch(2)
