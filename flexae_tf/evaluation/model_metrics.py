"""Evaluation of a trained model: the paper's numbers and pictures.

- FID (Heusel et al.) of generated samples and of test reconstructions
  against the test images (paper Tables 1, 3);
- precision / recall for distributions (Sajjadi et al. 2018; Table 2);
- pixel and Inception memorization scores (Sec. 4.2.3, Table 4) for the
  Tr-Tr, Gen-Tr, Tr-Te and Gen-Te pairs, with nearest-neighbour grids;
- latent interpolation grids between test images.

Every image set is passed through the feature network once and reused by
all metrics. Every result states its sample count N, reference split and
feature network: FIDs at different N do not compare. Below N = 10,000,
where FID's bias dominates, KID (unbiased) is reported beside every FID.
"""

import itertools
import json
import os
import time

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from flexae_tf.data import datasets as data
from flexae_tf.core import errors
from flexae_tf.metrics import fid
from flexae_tf.metrics import inception
from flexae_tf.metrics import kid
from flexae_tf.metrics import memorization
from flexae_tf.core import files
from flexae_tf.metrics import prd
from flexae_tf.core import summaries

METRICS = ("fid", "kid", "prd", "memorization")
MEMORIZATION_PAIRS = ("Tr-Tr", "Gen-Tr", "Tr-Te", "Gen-Te")


class RandomProjectionFeatures:
    """Fixed random projection of pixels: a cheap stand-in for Inception.

    For smoke tests and quick comparisons only; results computed with it
    are labelled with its protocol and never compare with Inception FIDs.
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


FEATURES = ("inception", "random_projection")


def feature_network(name):
    if name == "inception":
        return inception.InceptionFeatures()
    if name == "random_projection":
        return RandomProjectionFeatures()
    raise errors.UserError(f"Unknown features {name!r}; use 'inception' or "
                           "'random_projection' (gin: run_protocol.features).")


def real_images(dataset, split, count, skip=0):
    """The first `count` (after `skip`) float images of a split."""
    images = np.concatenate(list(
        data.eval_batches(dataset, split, 1000, skip + count)
        .as_numpy_iterator()))[skip:]
    if len(images) < count:
        raise errors.UserError(
            f"{dataset} {split} has {len(images) + skip} images; the "
            f"evaluation needs {count + skip}. Lower --num_samples.")
    return images


def _in_batches(fn, images, batch_size):
    return np.concatenate([np.asarray(fn(images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])


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


class _Timer:
    """Logs each stage with its images/s."""

    def __call__(self, what, fn, count):
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        logging.info("%s: %d images in %.1f s (%.1f images/s)", what, count,
                     seconds, count / max(seconds, 1e-9))
        return result


def minmax_rescale(images):
    """Per-image min-max rescaling to [0, 1], as the authors' FID code
    (`evaluate_fid_score(norm=True)`) does to generated images. Used by the
    `authors` protocol only: it changes the images being scored."""
    images = np.asarray(images, np.float32)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    span = images.max(axis=axes, keepdims=True) - low
    return (images - low) / np.maximum(span, 1e-12)


def check_num_samples(num_samples):
    """N must be a positive int; one clear line otherwise."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or (
            num_samples < 1):
        raise errors.UserError(
            f"num_samples={num_samples!r}: must be a positive integer "
            "(FID needs more samples than feature dimensions).")


def distances(features, reference_features, reference_stats=None):
    """FID (always) and KID (when N < kid.FID_RELIABLE_N) to a reference.

    The one way every reported FID is computed (`fid.fid_to_reference`).
    """
    reference_stats = reference_stats or fid.activation_statistics(
        reference_features)
    out = {"fid": fid.fid_to_reference(features, reference_stats)}
    if len(features) < kid.FID_RELIABLE_N and reference_features is not None:
        out.update(kid.kid_from_activations(reference_features, features))
    return out


def _memorization(generated, train_a, train_b, test, space, out_dir, step,
                  images):
    """The four pairs of Table 4 in one space; grids of neighbours."""
    pairs = {"Tr-Tr": (train_a, train_b), "Gen-Tr": (generated, train_b),
             "Tr-Te": (train_a, test), "Gen-Te": (generated, test)}
    scores = {name: memorization.memorization_score(a, b)["score"]
              for name, (a, b) in pairs.items()}
    idx, _ = memorization.nearest_neighbors(generated[:8], train_b, k=4)
    generated_images, train_images = images
    rows = [np.concatenate([generated_images[i:i + 1], train_images[idx[i]]])
            for i in range(len(idx))]
    summaries.write_grid(f"nearest_neighbours_{space}",
                         np.concatenate(rows), step, out_dir, columns=5)
    return scores


@gin.configurable(denylist=["model", "dataset", "out_dir", "step", "split",
                            "rescale"])
def evaluate(model, dataset, metrics=("fid",), num_samples=10000,
             batch_size=250, features="inception", feature_fn=None, seed=0,
             out_dir=None, step=0, split="test", rescale=False):
    """Computes `metrics` for a trained model.

    Args:
      model: an `autoencoder.AutoEncoderModel`.
      dataset: dataset name (test images are the reference).
      metrics: any of "fid" (with KID where N < 10,000), "kid" (KID
        alone, at any N), "prd", "memorization".
      num_samples: N, images per set.
      batch_size: images per model / feature call.
      features: "inception" (the standard FID network) or
        "random_projection" (cheap, for smoke runs only).
      feature_fn: overrides `features` with any images -> [b, d] callable.
      seed: seed of the generated samples.
      out_dir: where PNG grids go (TensorBoard gets them when a default
        summary writer is set); None: TensorBoard only.
      step: step of the summaries.
      split: reference images, "test" (reported numbers) or "validation"
        (model selection).
      rescale: min-max rescale every generated image and reconstruction
        first (`minmax_rescale`; the `authors` protocol only).

    Returns:
      {"num_samples", "features", "split", "fid": {"reconstruction",
       "generation"}, "kid": {...} (N < 10,000), "prd": {"precision",
       "recall"}, "memorization": {"pixel": {...}, <space>: {...}}},
       with only the requested metrics; <space> names the features
       actually used ("inception", "random_projection", else `features`).
    """
    check_num_samples(num_samples)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise errors.UserError(f"Unknown metrics {sorted(unknown)}; choose "
                               f"from {METRICS}.")
    post = minmax_rescale if rescale else np.asarray
    feature_fn = feature_fn or feature_network(features)
    protocol = getattr(feature_fn, "protocol", features)
    space = getattr(feature_fn, "space", features)
    timer = _Timer()
    n = num_samples
    test = real_images(dataset, split, n)
    generated = post(timer(
        "sampling", lambda: generate(model, n, batch_size, seed), n))
    featurize = lambda x: fid.collect_features(x, feature_fn, len(x),
                                               batch_size)
    gen_features = timer("features of samples", lambda: featurize(generated),
                         n)
    results = {"num_samples": n, "features": protocol, "split": split,
               "fid_implementation": fid.IMPLEMENTATION}
    test_features = None
    # "kid" alone: KID needs no full-rank covariance, so it works at any N
    # (Inception FID needs N > 2048, out of reach on small CPUs).
    needs_kid = "kid" in metrics or (
        "fid" in metrics and n < kid.FID_RELIABLE_N)
    if "prd" in metrics or "memorization" in metrics or needs_kid:
        test_features = timer(f"features of {split} images",
                              lambda: featurize(test), n)
    if "fid" in metrics or "kid" in metrics:
        recon = post(timer("reconstructions", lambda: _in_batches(
            model.reconstruct, test, batch_size), n))
        recon_features = timer("features of reconstructions",
                               lambda: featurize(recon), n)
        pairs = (("generation", gen_features),
                 ("reconstruction", recon_features))
        if "fid" in metrics:
            reference = (fid.activation_statistics(test_features)
                         if test_features is not None else
                         fid.reference_statistics(test, feature_fn, n, dataset,
                                                  split, batch_size))
            scores = {name: distances(feats, test_features, reference)
                      for name, feats in pairs}
            results["fid"] = {k: v["fid"] for k, v in scores.items()}
        else:
            scores = {name: kid.kid_from_activations(test_features, feats)
                      for name, feats in pairs}
        if needs_kid:
            results["kid"] = {k: v["kid"] for k, v in scores.items()}
            results["kid_std"] = {k: v["kid_std"] for k, v in scores.items()
                                  if v["kid_std"] is not None}
    if "prd" in metrics:
        scores = prd.compute_prd_scores(gen_features, test_features)
        results["prd"] = {"precision": scores["precision"],
                          "recall": scores["recall"]}
        if out_dir is not None:
            png = prd.plot_prd(
                {f"iteration {step}": (scores["precision_curve"],
                                       scores["recall_curve"])},
                f"PRD vs {split}, N={n}, {protocol}")
            image = tf.io.decode_png(png, channels=3).numpy() / 255.0
            summaries.write_image("prd", image, step, out_dir)
    if "memorization" in metrics:
        # Two non-overlapping training subsets, so Tr-Tr is not trivially 0.
        train = real_images(dataset, "train", 2 * n)
        train_a, train_b = train[:n], train[n:]
        train_features = timer("features of training images",
                               lambda: featurize(train), 2 * n)
        results["memorization"] = {
            "pixel": _memorization(generated, train_a, train_b, test,
                                   "pixel", out_dir, step,
                                   (generated, train_b)),
            space: _memorization(gen_features, train_features[:n],
                                 train_features[n:], test_features, space,
                                 out_dir, step, (generated, train_b))}
    pairs = test[:16]
    summaries.write_grid("eval_interpolations", np.reshape(
        model.interpolate(pairs[0::2], pairs[1::2], 10),
        (-1,) + model.image_shape), step, out_dir, columns=10)
    summaries.write_grid("eval_samples", generated[:64], step, out_dir)
    return results


def flatten(results, prefix=""):
    """{"fid": {"generation": x}} -> {"fid/generation": x} for summaries."""
    flat = {}
    for key, value in results.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)):
            flat[f"{prefix}{key}"] = value
    return flat


def write_results(results, path):
    """JSON results, written atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    files.write_atomically(path, json.dumps(results, indent=2,
                                            sort_keys=True))
