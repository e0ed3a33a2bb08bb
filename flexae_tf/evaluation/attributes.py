"""Attribute manipulation in latent space (FlexAE paper, Fig. 5c).

Given labels, the direction of an attribute is the mean code of the images
that have it minus the mean code of those that do not; a grid walks a real
image's code along it, z + s * direction for a row of strengths s, and
decodes each point. Class labels (MNIST / Fashion-MNIST digits and
garments) count as one-vs-rest attributes; CelebA's 40 binary attributes
come through tensorflow_datasets where that dataset is prepared.
"""

import os

from absl import logging
import numpy as np

from flexae_tf.data import datasets as data
from flexae_tf.data import idx
from flexae_tf.core import errors
from flexae_tf.core import paths
from flexae_tf.core import summaries

CLASS_NAMES = {
    "mnist": [str(k) for k in range(10)],
    "fashion_mnist": ["t-shirt", "trouser", "pullover", "dress", "coat",
                      "sandal", "shirt", "sneaker", "bag", "ankle_boot"],
}


def attribute_directions(codes, labels):
    """Mean code with minus mean code without, per attribute.

    Args:
      codes: [n, d] codes.
      labels: [n] integer classes (one-vs-rest attributes 0..max) or
        [n, k] booleans (k binary attributes).

    Returns:
      [k, d] float64 directions.

    Raises:
      errors.UserError: shapes disagree, or an attribute is present in all
        or none of the images (its direction is undefined).
    """
    codes = np.asarray(codes, np.float64)
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None] == np.arange(labels.max() + 1)[None]
    labels = labels.astype(bool)
    if labels.shape[0] != codes.shape[0]:
        raise errors.UserError(f"{codes.shape[0]} codes but "
                               f"{labels.shape[0]} labels.")
    counts = labels.sum(axis=0)
    bad = np.flatnonzero((counts == 0) | (counts == len(labels)))
    if bad.size:
        raise errors.UserError(
            f"Attributes {bad.tolist()} are present in all or none of the "
            f"{len(labels)} images: no direction; use more images.")
    with_mean = labels.T.astype(np.float64) @ codes / counts[:, None]
    without_mean = ((~labels).T.astype(np.float64) @ codes
                    / (len(labels) - counts)[:, None])
    return with_mean - without_mean


def attribute_grid(model, images, direction, strengths=(-2, -1, 0, 1, 2)):
    """Decodes E(x) + s * direction: [rows, len(strengths), H, W, C]."""
    codes = model.encode(images).numpy()
    strengths = np.asarray(strengths, np.float32)
    walked = (codes[:, None, :] + strengths[None, :, None]
              * np.asarray(direction, np.float32)[None, None, :])
    decoded = model.decode(walked.reshape(-1, codes.shape[1])).numpy()
    return decoded.reshape((len(codes), len(strengths))
                           + tuple(decoded.shape[1:]))


def load_labels(name, split="test", num_images=None, data_dir=None,
                tfds_dir=None):
    """Labels in the order of `data.eval_batches(name, split)`.

    Returns:
      (labels: [n] classes or [n, 40] booleans, attribute names).

    Raises:
      data.DataError: no labels for this dataset here.
    """
    if name in CLASS_NAMES:
        data_dir = data_dir or paths.default_data_dir()
        path = idx.split_path(data_dir, name, split, kind="labels")
        if path is not None:
            return idx.read_labels(path)[:num_images], CLASS_NAMES[name]
        raise data.DataError(
            f"No labels for {name} ({split}) in {os.path.join(data_dir, name)}"
            ": the IDX label file is missing.")
    if name == "celeb_a":
        return _celeb_a_attributes(split, num_images, tfds_dir)
    raise data.DataError(f"No attribute labels for {name!r}; use mnist, "
                         "fashion_mnist or celeb_a.")


def _celeb_a_attributes(split, num_images, tfds_dir):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    try:
        builder = tfds.builder("celeb_a", data_dir=tfds_dir, try_gcs=False)
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except Exception as e:  # pylint: disable=broad-except
        raise data.DataError(
            "CelebA attributes need a prepared TFDS celeb_a (see "
            f"gin/celeba.gin): {str(e).splitlines()[0]}") from e
    if num_images is not None:
        dataset = dataset.take(num_images)
    names = sorted(builder.info.features["attributes"].keys())
    rows = [[bool(example["attributes"][k]) for k in names]
            for example in tfds.as_numpy(dataset)]
    return np.array(rows, bool), names


def write_attribute_grids(model, dataset, out_dir, split="test",
                          num_images=2000, num_rows=4,
                          strengths=(-2, -1, 0, 1, 2), attributes=None):
    """One PNG grid per attribute: rows of real images walked along it.

    Rows are the first `num_rows` images WITHOUT the attribute, so adding
    it should show; the middle column (s = 0) is the reconstruction.

    Args:
      model: a trained model (encode / decode).
      dataset: mnist, fashion_mnist or celeb_a.
      out_dir: where `attribute_<name>.png` files go.
      split: images and labels of this split.
      num_images: images whose codes define the directions.
      num_rows: rows per grid.
      strengths: the walk's steps s, in units of the direction.
      attributes: names to draw (default: all).

    Returns:
      {attribute name: PNG path}.
    """
    images = np.concatenate([b.numpy() for b in data.eval_batches(
        dataset, split, 250, num_images)])
    labels, names = load_labels(dataset, split, len(images))
    codes = np.concatenate([model.encode(images[i:i + 250]).numpy()
                            for i in range(0, len(images), 250)])
    directions = attribute_directions(codes, labels)
    onehot = (labels[:, None] == np.arange(len(names))[None]
              if labels.ndim == 1 else labels)
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for k, name in enumerate(names):
        if attributes is not None and name not in attributes:
            continue
        rows = images[~onehot[:, k]][:num_rows]
        grid = attribute_grid(model, rows, directions[k], strengths)
        path = os.path.join(out_dir, f"attribute_{name}.png")
        tiled = summaries.image_grid(
            grid.reshape((-1,) + grid.shape[2:]), columns=len(strengths))
        with open(path, "wb") as f:
            f.write(summaries.to_png(tiled))
        written[name] = path
    logging.info("Wrote %d attribute grids to %s", len(written), out_dir)
    return written
