"""Paths between two codes: the segment and the great circle (slerp).

Interpolation grids (training previews, evaluation) and the `interpolate`
serving signature walk these paths between E(a) and E(b).
"""

import gin
from keras import ops

from flexae_tf.core import errors
from flexae_tf.models import losses

INTERPOLATION_METHODS = ("linear", "slerp")


@gin.configurable
def interpolation_method(method="linear"):
    """The path of every interpolation grid (training previews, evaluation).

    The grids' writers read it and pass it to `interpolate`, which reads
    no gin itself (a loaded `.keras` model must not depend on gin), so
    `interpolation_method.method = 'slerp'` switches them all.
    """
    return errors.check_choice("interpolation_method.method", method,
                               INTERPOLATION_METHODS)


def slerp(codes_a, codes_b, weights, epsilon=1e-6):
    """Spherical interpolation between rows of codes_a and codes_b.

    Walks the great circle between the two directions while the norm goes
    linearly from |a| to |b| when |a| = |b| (Shoemake 1985; White 2016 for
    latent spaces). Nearly parallel pairs fall back to the straight line.

    Args:
      codes_a: [b, d].
      codes_b: [b, d].
      weights: [s] in [0, 1]; 0 gives a, 1 gives b.
      epsilon: angle below which the straight line is used.

    Returns:
      [b, s, d].
    """
    norm_a = ops.sqrt(ops.sum(ops.square(codes_a), axis=1, keepdims=True))
    norm_b = ops.sqrt(ops.sum(ops.square(codes_b), axis=1, keepdims=True))
    cosine = ops.sum(codes_a * codes_b, axis=1, keepdims=True) / ops.maximum(
        norm_a * norm_b, 1e-12)
    omega = ops.arccos(ops.clip(cosine, -1.0, 1.0))[:, None]   # [b, 1, 1]
    t = weights[None, :, None]                                  # [1, s, 1]
    sin_omega = ops.sin(omega)
    parallel = sin_omega < epsilon
    safe = ops.where(parallel, 1.0, sin_omega)
    coef_a = ops.where(parallel, 1.0 - t, ops.sin((1.0 - t) * omega) / safe)
    coef_b = ops.where(parallel, t, ops.sin(t * omega) / safe)
    return coef_a * codes_a[:, None] + coef_b * codes_b[:, None]


def path(codes_a, codes_b, num_steps, method="linear"):
    """Codes [b, num_steps, d] from codes_a [b, d] to codes_b [b, d].

    method: "linear" (the segment) or "slerp" (the great circle).
    """
    errors.check_choice("interpolate(method)", method, INTERPOLATION_METHODS)
    weights = ops.linspace(0.0, 1.0, num_steps)
    if method == "slerp":
        return slerp(codes_a, codes_b, weights)
    # One convex combination per (pair, step).
    steps = lambda codes: ops.repeat(codes, num_steps, axis=0)
    codes = losses.interpolate(steps(codes_b), steps(codes_a),
                               ops.tile(weights, (ops.shape(codes_a)[0],)))
    return ops.reshape(codes, (-1, num_steps, ops.shape(codes_a)[1]))
