"""Kernel Inception Distance (Binkowski et al. 2018, arXiv:1801.01401).

KID = E k(x, x') + E k(y, y') - 2 E k(x, y) with the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3 on feature vectors. Unlike FID its
estimator is unbiased, so it stays comparable at the small N that CPU runs
afford: every evaluation at N < `FID_RELIABLE_N` reports it beside FID.
Computed by TF-GAN's `kernel_classifier_distance_and_std_from_activations`
(the block estimator; blocks of at most `max_block_size` samples), in
float64.
"""

import numpy as np
import tensorflow as tf

from flexae_tf.metrics import tfgan_eval

IMPLEMENTATION = ("tfgan.eval.classifier_metrics."
                  "kernel_classifier_distance (unbiased, float64)")
# Below this N, FID's bias (it grows like 1/N) dominates differences
# between models; KID is reported beside it.
FID_RELIABLE_N = 10000


def kid_from_activations(activations1, activations2, max_block_size=1024):
    """KID and its standard error for two [n, d] feature sets.

    Args:
      activations1: [n1, d] features (e.g. real images).
      activations2: [n2, d] features (e.g. generated images).
      max_block_size: samples per block of TF-GAN's block estimator.

    Returns:
      {"kid": float, "kid_std": float}.

    Raises:
      ValueError: misshapen or non-finite features, or fewer than 2 each.
    """
    a1 = np.asarray(activations1, np.float64)
    a2 = np.asarray(activations2, np.float64)
    if a1.ndim != 2 or a2.ndim != 2 or a1.shape[1] != a2.shape[1]:
        raise ValueError(f"Need two [n, d] feature sets, got {a1.shape} "
                         f"and {a2.shape}")
    if min(len(a1), len(a2)) < 2:
        raise ValueError("KID needs at least 2 samples per set")
    if not (np.all(np.isfinite(a1)) and np.all(np.isfinite(a2))):
        raise ValueError("Features contain NaN or inf")
    value, std = tfgan_eval.kernel_classifier_distance_and_std_from_activations(
        tf.constant(a1), tf.constant(a2), max_block_size=max_block_size)
    std = float(std)
    # One block has no spread estimate: null in JSON, not NaN.
    return {"kid": float(value), "kid_std": std if np.isfinite(std) else None}


def polynomial_kernel_mmd2(activations1, activations2):
    """Unbiased MMD^2 with KID's kernel, plain numpy: the test oracle.

    One block (the whole sets); equal to `kid_from_activations` whenever
    both sets fit in one block of equal size.
    """
    x = np.asarray(activations1, np.float64)
    y = np.asarray(activations2, np.float64)
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1.0) ** 3
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.mean())


