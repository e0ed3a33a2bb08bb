"""The image sets an evaluation scores: real images, seeded samples,
reconstructions."""

import itertools

import numpy as np
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.data import datasets


def check_num_samples(num_samples):
    """N must be a positive int; one clear line otherwise."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or (
            num_samples < 1):
        raise errors.UserError(
            f"num_samples={num_samples!r}: must be a positive integer "
            "(FID needs more samples than feature dimensions).")


def real_images(dataset, split, count, skip=0):
    """The first `count` (after `skip`) float images of a split."""
    images = np.concatenate(list(
        datasets.eval_batches(dataset, split, 1000, skip + count)
        .as_numpy_iterator()))[skip:]
    if len(images) < count:
        raise errors.UserError(
            f"{dataset} {split} has {len(images) + skip} images; the "
            f"evaluation needs {count + skip}. Lower --num_samples.")
    return images


def generate(model, count, batch_size, seed=0):
    """`count` samples from seeded noise: reproducible for a seed."""
    counter = itertools.count()
    batches = []
    for start in range(0, count, batch_size):
        noise = tf.random.stateless_normal(
            (min(batch_size, count - start), model.noise_dim),
            seed=[seed, next(counter)])
        batches.append(model.generate(noise).numpy())
    return np.concatenate(batches)


def reconstruct(model, images, batch_size):
    """D(E(x)) of images, in batches."""
    return np.concatenate([np.asarray(model.reconstruct(
        images[i:i + batch_size])) for i in range(0, len(images), batch_size)])


def minmax_rescale(images):
    """Per-image min-max rescaling to [0, 1], as the authors' FID code
    (`evaluate_fid_score(norm=True)`) does to generated images. Used by the
    `authors` protocol only: it changes the images being scored."""
    images = np.asarray(images, np.float32)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    span = images.max(axis=axes, keepdims=True) - low
    return (images - low) / np.maximum(span, 1e-12)
