"""Pictures of a model: image grids and latent scatter plots.

Each picture goes to TensorBoard (under the writer that is current) and,
when an output directory is given, to a PNG named `<tag>_<step>.png`.
"""

import os

import numpy as np
import tensorflow as tf

from flexae_tf.core import figures
from flexae_tf.core import files


def image_grid(images, columns=8):
    """Tiles [n, H, W, C] images in [0, 1] into one [rows*H, cols*W, C]."""
    images = np.asarray(images, np.float32)
    n, height, width, channels = images.shape
    columns = min(columns, n)
    rows = -(-n // columns)
    padded = np.ones((rows * columns, height, width, channels), np.float32)
    padded[:n] = images
    grid = padded.reshape(rows, columns, height, width, channels)
    return grid.transpose(0, 2, 1, 3, 4).reshape(
        rows * height, columns * width, channels)


def to_png(image):
    """[H, W, C] float in [0, 1] -> PNG bytes."""
    pixels = np.clip(np.round(np.asarray(image) * 255.0), 0, 255)
    return tf.io.encode_png(pixels.astype(np.uint8)).numpy()


def write_image(tag, image, step, out_dir=None):
    """One [H, W, C] picture to TensorBoard and, optionally, to PNG."""
    tf.summary.image(tag, np.asarray(image, np.float32)[None], step=step)
    if out_dir:
        path = os.path.join(out_dir, f"{tag.replace('/', '_')}_{step}.png")
        files.write_atomically(path, to_png(image))


def write_grid(tag, images, step, out_dir=None, columns=8):
    write_image(tag, image_grid(images, columns), step, out_dir)


def latent_scatter(codes, prior_codes, title=""):
    """2-D picture of encoded codes vs prior samples, as [H, W, 3] floats.

    Codes of more than two dimensions are projected onto the first two
    principal axes of the encoded codes, so both clouds share one frame.
    """
    plt = figures.pyplot()
    codes = np.asarray(codes, np.float64)
    prior_codes = np.asarray(prior_codes, np.float64)
    mean = codes.mean(axis=0)
    if codes.shape[1] > 2:
        _, _, axes = np.linalg.svd(codes - mean, full_matrices=False)
        project = axes[:2].T
    else:
        project = np.eye(codes.shape[1])
    figure, ax = plt.subplots(figsize=(4, 4), dpi=100)
    for points, label in ((prior_codes, "prior"), (codes, "encoded")):
        xy = (points - mean) @ project
        ax.scatter(xy[:, 0], xy[:, 1], s=3, alpha=0.5, label=label)
    ax.legend(loc="upper right")
    ax.set_title(title, fontsize=9)
    image = tf.io.decode_png(figures.to_png(figure), channels=3)
    return image.numpy().astype(np.float32) / 255.0
