"""Feature networks, and the real images' features computed once.

The real side of every FID, KID, PRD and memorization score is the same
images passed through the same network again and again: each evaluation
checkpoint, each periodic evaluation and each suite row. Their features
are cached on disk, keyed by (dataset, split, first image, N, feature
protocol), with that provenance stored beside them, so an evaluation
pays only for its generated images. `$FLEXAE_FEATURE_CACHE_DIR` (default
`~/.cache/flexae_tf/features`) holds them; delete it to recompute.
"""

import datetime
import hashlib
import json
import os
import re

from absl import logging
import numpy as np

from flexae_tf.core import errors
from flexae_tf.core import files
from flexae_tf.evaluation import samples
from flexae_tf.metrics import fid
from flexae_tf.metrics import inception

FEATURES = ("inception", "random_projection")


class RandomProjectionFeatures:
    """Fixed random projection of pixels: a cheap stand-in for Inception.

    For smoke tests, learning curves and quick comparisons only; results
    computed with it are labelled with its protocol and never compare with
    Inception FIDs.
    """

    space = "random_projection"  # Names memorization results and grids.

    def __init__(self, dim=64, seed=0):
        self.dim, self.seed = dim, seed
        self.protocol = f"random_projection_{dim}_seed{seed}"
        self._matrix = None

    def __call__(self, images):
        flat = np.reshape(np.asarray(images, np.float32), (len(images), -1))
        if self._matrix is None or self._matrix.shape[0] != flat.shape[1]:
            rng = np.random.default_rng(self.seed)
            self._matrix = rng.standard_normal(
                (flat.shape[1], self.dim)).astype(np.float32)
        return flat @ self._matrix


def feature_network(name):
    """The feature network called `name` (one of FEATURES)."""
    if name == "inception":
        return inception.InceptionFeatures()
    if name == "random_projection":
        return RandomProjectionFeatures()
    raise errors.UserError(f"Unknown features {name!r}; use one of "
                           f"{FEATURES} (gin: run_protocol.features).")


def protocol(feature_fn):
    """The name that identifies what `feature_fn` computes."""
    return getattr(feature_fn, "protocol",
                   getattr(feature_fn, "__qualname__", repr(feature_fn)))


def featurize(images, feature_fn, batch_size=250):
    """Features [n, d] of images [n, h, w, c]."""
    return fid.collect_features(images, feature_fn, len(images), batch_size)


def default_cache_dir():
    """`$FLEXAE_FEATURE_CACHE_DIR`, else ~/.cache/flexae_tf/features."""
    return os.environ.get("FLEXAE_FEATURE_CACHE_DIR", os.path.join(
        os.path.expanduser("~"), ".cache", "flexae_tf", "features"))


def cache_path(cache_dir, key):
    """The file of the features described by `key` (a dict)."""
    tag = hashlib.sha1(key["protocol"].encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-",
                  f"{key['dataset']}_{key['split']}_from{key['skip']}")
    return os.path.join(cache_dir, f"{name}_n{key['num_samples']}_{tag}.npz")


def _load(path, key):
    try:
        with np.load(path) as npz:
            provenance = json.loads(str(npz["provenance"]))
            features = npz["features"]
    except (OSError, ValueError, KeyError) as e:
        logging.warning("Recomputing %s: unreadable (%s)", path, e)
        return None
    if {k: provenance.get(k) for k in key} != key or (
            len(features) != key["num_samples"]):
        logging.warning("Recomputing %s: other provenance (%s)", path,
                        provenance)
        return None
    return features


def real_features(dataset, split, num_samples, feature_fn, batch_size=250,
                  skip=0, cache_dir=None, images=None):
    """(images, features) of the first `num_samples` real images of a split.

    Args:
      dataset, split: which real images (`samples.real_images`).
      num_samples: N.
      feature_fn: the feature network; its `protocol` keys the cache.
      batch_size: images per `feature_fn` call.
      skip: images skipped first (disjoint subsets of one split).
      cache_dir: None: `default_cache_dir()`.
      images: the images, when the caller has them already.

    Returns:
      (float32 images [N, h, w, c], float32 features [N, d]).
    """
    if images is None:
        images = samples.real_images(dataset, split, num_samples, skip)
    key = {"dataset": dataset, "split": split, "skip": skip,
           "num_samples": num_samples, "protocol": protocol(feature_fn)}
    path = cache_path(cache_dir or default_cache_dir(), key)
    features = _load(path, key) if os.path.isfile(path) else None
    if features is not None:
        logging.info("Features of %d %s %s images from %s", num_samples,
                     dataset, split, path)
        return images, features
    features = featurize(images, feature_fn, batch_size)
    provenance = dict(key, feature_dim=features.shape[1], created=(
        datetime.datetime.now(datetime.timezone.utc).isoformat()))
    try:
        with files.atomic_path(path, ".npz") as tmp:  # np.savez adds .npz.
            np.savez(tmp, features=features,
                     provenance=json.dumps(provenance))
        logging.info("Cached the features of %d %s %s images in %s",
                     num_samples, dataset, split, path)
    except files.WriteError as e:  # A cache: the evaluation goes on.
        logging.warning("%s", e)
    return images, features
