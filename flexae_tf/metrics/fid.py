"""Fréchet Inception Distance (Heusel et al. 2017, arXiv:1706.08500).

FID = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) between Gaussians fitted
to the features of two image sets. Pure numerical core plus a thin wrapper:

- `fid_from_statistics`: THE FID: TF-GAN's trace_sqrt_product in float64
  (through `flexae_tf.metrics.tfgan_eval`). Every FID the project reports
  (evaluation, selection, experiment suites through `frechet_distance_between`)
  goes through it, named by `IMPLEMENTATION`; `fid_from_activations` and
  `fid_to_reference` are thin wrappers.
- `numpy_frechet_distance`: an independent float64 numpy/scipy version,
  the test oracle only.
- `compute_fid`: images (array, `tf.data.Dataset` or sampling function) ->
  features (injected `feature_fn`: `inception.InceptionFeatures` in
  production) -> {"fid", "num_samples", "implementation"}.

Real images' features are cached by `flexae_tf.evaluation.features`, not
here: this module computes and writes nothing to disk.

FID is biased by N: compare only numbers computed with the same N. Images
are used as given: unlike FlexAE's original `evaluate_fid_score(norm=True)`,
nothing is min-max rescaled per image, and failures raise instead of
returning a sentinel.
"""

import collections
import itertools

from absl import logging
import gin
import numpy as np
import scipy.linalg
import tensorflow as tf

from flexae_tf.metrics import tfgan_eval

IMPLEMENTATION = "tfgan.eval.classifier_metrics (float64)"
Statistics = collections.namedtuple("Statistics", ["mu", "sigma"])


def check_activations(activations, name="activations"):
    """Returns `activations` as float64 [n, d]; raises ValueError if unfit.

    A sample covariance of n points has rank <= n - 1, so a full-rank d x d
    covariance needs n >= d + 1 samples (2049 for Inception pool_3).
    """
    activations = np.asarray(activations, np.float64)
    if activations.ndim != 2:
        raise ValueError(f"{name} must be [num_samples, feature_dim], got "
                         f"shape {activations.shape}")
    n, d = activations.shape
    if n <= d:
        raise ValueError(
            f"{name}: {n} samples of {d}-d features give a singular "
            f"covariance; FID needs at least {d + 1} samples per set")
    if not np.all(np.isfinite(activations)):
        raise ValueError(f"{name} contain NaN or inf")
    return activations


def activation_statistics(activations):
    """Mean [d] and unbiased covariance [d, d] of [n, d] activations."""
    activations = check_activations(activations)
    return Statistics(np.mean(activations, axis=0),
                      np.cov(activations, rowvar=False))


def numpy_frechet_distance(mu1, sigma1, mu2, sigma2):
    """Oracle FID of two Gaussians, float64 numpy (tests only).

    Tr((S1 S2)^(1/2)) is computed from eigenvalues: with A = S1^(1/2),
    S1 S2 is similar to the symmetric PSD A S2 A, whose eigenvalues are
    real and >= 0 up to rounding (clipped). This is stabler than
    `scipy.linalg.sqrtm` of the non-symmetric product.

    Args:
      mu1, mu2: means [d].
      sigma1, sigma2: covariances [d, d].

    Returns:
      The distance, a Python float.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1 = np.asarray(sigma1, np.float64)
    sigma2 = np.asarray(sigma2, np.float64)
    eigvals, eigvecs = scipy.linalg.eigh(sigma1)
    sqrt1 = (eigvecs * np.sqrt(np.clip(eigvals, 0, None))) @ eigvecs.T
    inner = scipy.linalg.eigvalsh(sqrt1 @ sigma2 @ sqrt1)
    trace_sqrt = np.sum(np.sqrt(np.clip(inner, 0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1)
                 + np.trace(sigma2) - 2.0 * trace_sqrt)


def fid_from_activations(activations1, activations2):
    """FID of two [n, d] activation sets (`fid_from_statistics`)."""
    a1 = check_activations(activations1, "activations1")
    a2 = check_activations(activations2, "activations2")
    if a1.shape[1] != a2.shape[1]:
        raise ValueError(f"Feature dims differ: {a1.shape} vs {a2.shape}")
    return fid_to_reference(a1, activation_statistics(a2))


def fid_to_reference(activations, reference):
    """FID of [n, d] activations against `Statistics` of a reference set."""
    stats = activation_statistics(activations)
    return fid_from_statistics(stats.mu, stats.sigma, reference.mu,
                               reference.sigma)


def fid_from_statistics(mu1, sigma1, mu2, sigma2):
    """FID of two Gaussians with TF-GAN's trace_sqrt_product, float64.

    The same computation as `fid_from_activations` after its mean and
    covariance step, for when one side comes from cached statistics.
    """
    mu1, mu2 = tf.constant(mu1, tf.float64), tf.constant(mu2, tf.float64)
    s1, s2 = tf.constant(sigma1, tf.float64), tf.constant(sigma2, tf.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or (
            s1.shape != mu1.shape + mu1.shape):
        raise ValueError(f"Mismatched statistics: {mu1.shape}, {s1.shape}, "
                         f"{mu2.shape}, {s2.shape}")
    trace = tf.linalg.trace(s1 + s2) - 2.0 * tfgan_eval.trace_sqrt_product(
        s1, s2)
    fid = tf.reduce_sum(tf.math.squared_difference(mu1, mu2)) + trace
    if not bool(tf.math.is_finite(fid)):
        raise ValueError("FID is not finite: bad statistics?")
    return float(fid)


def frechet_distance_between(x, y):
    """The one FID of Gaussians fitted to feature arrays [n, d] and [m, d]
    (the experiment suites' distances on codes and projected pixels)."""
    a, b = activation_statistics(x), activation_statistics(y)
    return fid_from_statistics(a.mu, a.sigma, b.mu, b.sigma)


def _image_batches(source, num_samples, batch_size):
    """Yields numpy image batches totalling exactly `num_samples` images."""
    if isinstance(source, tf.data.Dataset):
        spec = source.element_spec
        if isinstance(spec, tuple):  # (images, labels, ...)
            source, spec = source.map(lambda *x: x[0]), spec[0]
        elif isinstance(spec, dict):
            source, spec = source.map(lambda d: d["image"]), spec["image"]
        if spec.shape.rank == 3:
            source = source.batch(batch_size)
        batches = source.as_numpy_iterator()
    elif callable(source):  # A sampler: batch size -> images.
        batches = (np.asarray(source(batch_size)) for _ in itertools.count())
    else:
        images = np.asarray(source)
        batches = (images[i:i + batch_size]
                   for i in range(0, len(images), batch_size))
    count = 0
    for batch in batches:
        batch = np.asarray(batch)[:num_samples - count]
        count += len(batch)
        yield batch
        if count >= num_samples:
            return
    raise ValueError(f"The image source gave only {count} of the "
                     f"{num_samples} requested samples")


def collect_features(source, feature_fn, num_samples, batch_size=250):
    """Features [num_samples, d] of the first `num_samples` source images.

    Args:
      source: images [n, h, w, c] in [0, 1] (numpy or tensor), a
        `tf.data.Dataset` of such images (batched or not; tuples and dicts
        use their first / "image" entry), or a function batch_size -> images.
      feature_fn: maps [b, h, w, c] images to [b, d] features.
      num_samples: how many images to use.
      batch_size: images per `feature_fn` call.

    Returns:
      float32 numpy [num_samples, d].
    """
    parts = []
    for batch in _image_batches(source, num_samples, batch_size):
        feats = np.asarray(feature_fn(batch), np.float32)
        if feats.ndim != 2 or len(feats) != len(batch):
            raise ValueError(f"feature_fn mapped {batch.shape} images to "
                             f"{feats.shape}; expected [{len(batch)}, d]")
        parts.append(feats)
    return np.concatenate(parts)


@gin.configurable(denylist=["generated", "real", "feature_fn"])
def compute_fid(generated, real, feature_fn, num_samples=10000,
                batch_size=250):
    """FID between generated and real images.

    Args:
      generated: image source (see `collect_features`), e.g. a sampler.
      real: image source, or `Statistics` (`activation_statistics`).
      feature_fn: [b, h, w, c] images in [0, 1] -> [b, d] features.
      num_samples: images per side; FIDs at different N do not compare.
      batch_size: images per `feature_fn` call.

    Returns:
      {"fid": float, "num_samples": int, "implementation": str}.
    """
    fake = activation_statistics(
        collect_features(generated, feature_fn, num_samples, batch_size))
    if not isinstance(real, Statistics):
        real = activation_statistics(
            collect_features(real, feature_fn, num_samples, batch_size))
    fid = fid_from_statistics(fake.mu, fake.sigma, real.mu, real.sigma)
    protocol = getattr(feature_fn, "protocol", repr(feature_fn))
    implementation = f"{IMPLEMENTATION}; features: {protocol}"
    logging.info("FID %.4f from %d samples (%s)", fid, num_samples,
                 implementation)
    return {"fid": fid, "num_samples": num_samples,
            "implementation": implementation}
