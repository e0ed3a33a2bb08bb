"""Memorization scores and batched nearest-neighbour search.

FlexAE (Mondal et al., UAI 2021, Sec. 4.2.3) measures how close generated
samples lie to the training set: for sets A (generated) and B (training),
the memorization score is the mean over A of the L2 distance to the nearest
neighbour in B, in pixel space (Pixel Memorization Score) or in Inception
pool_3 feature space (Inception Memorization Score). Small values mean the
samples sit on top of training images.

The search runs in TF on chunks of A x B, using
||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2 (one matmul per chunk, on the GPU
when there is one), and keeps a running top-k, so memory is bounded by the
chunk sizes, not by |A| |B|. The expansion loses precision for near
duplicates (cancellation), so the distances returned are recomputed
directly as ||a - b|| for the neighbours found.
"""

from absl import logging
import gin
import numpy as np
import tensorflow as tf


def _as_matrix(points, name):
    points = tf.convert_to_tensor(points)
    if points.shape.rank is None or points.shape.rank < 2:
        raise ValueError(f"{name} must be [n, ...], got shape {points.shape}")
    points = tf.reshape(tf.cast(points, tf.float32), [points.shape[0], -1])
    if points.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not bool(tf.reduce_all(tf.math.is_finite(points))):
        raise ValueError(f"{name} contain NaN or inf")
    return points


def _chunk_top_k(queries, references, k, reference_chunk):
    """Indices [q, k] of the k nearest references, by squared distance."""
    query_sq = tf.reduce_sum(tf.square(queries), 1, keepdims=True)
    best_d = best_i = None
    for start in range(0, references.shape[0], reference_chunk):
        chunk = references[start:start + reference_chunk]
        chunk_sq = tf.reduce_sum(tf.square(chunk), 1)
        d2 = query_sq - 2.0 * tf.matmul(queries, chunk, transpose_b=True)
        d2 = d2 + chunk_sq[None]
        neg_d, idx = tf.math.top_k(-d2, min(k, chunk.shape[0]))
        idx = idx + start
        if best_d is not None:  # Merge with the best of earlier chunks.
            neg_d = tf.concat([best_d, neg_d], 1)
            idx = tf.concat([best_i, idx], 1)
            neg_d, pos = tf.math.top_k(neg_d, k)
            idx = tf.gather(idx, pos, batch_dims=1)
        best_d, best_i = neg_d, idx
    return best_i


@gin.configurable(denylist=["queries", "references"])
def nearest_neighbors(queries, references, k=1, query_chunk=1024,
                      reference_chunk=8192):
    """k nearest neighbours in `references` of each point in `queries` (L2).

    Args:
      queries: [n, ...] points or images (flattened to vectors).
      references: [m, ...] points of the same size.
      k: neighbours per query, at most m.
      query_chunk, reference_chunk: chunk sizes; memory is about
        query_chunk * reference_chunk floats.

    Returns:
      indices: int64 numpy [n, k] into `references`, nearest first (ties go
        to the lower index).
      distances: float32 numpy [n, k], exact L2 distances.
    """
    queries = _as_matrix(queries, "queries")
    references = _as_matrix(references, "references")
    if queries.shape[1] != references.shape[1]:
        raise ValueError(f"Point sizes differ: {queries.shape[1]} vs "
                         f"{references.shape[1]}")
    if not 1 <= k <= references.shape[0]:
        raise ValueError(f"k must be in [1, {references.shape[0]}], got {k}")
    all_idx, all_dist = [], []
    for start in range(0, queries.shape[0], query_chunk):
        chunk = queries[start:start + query_chunk]
        idx = _chunk_top_k(chunk, references, k, reference_chunk)
        diff = chunk[:, None, :] - tf.gather(references, idx)
        all_dist.append(tf.norm(diff, axis=-1).numpy())
        all_idx.append(idx.numpy().astype(np.int64))
    return np.concatenate(all_idx), np.concatenate(all_dist)


def memorization_score(queries, references, **search_kwargs):
    """Mean over `queries` of the L2 distance to the nearest reference.

    Args:
      queries: [n, ...] generated points (images or features).
      references: [m, ...] training points.
      **search_kwargs: chunk sizes for `nearest_neighbors`.

    Returns:
      {"score": float, "num_queries": n, "num_references": m,
       "nearest_indices": int64 [n], "nearest_distances": float32 [n]}.
    """
    idx, dist = nearest_neighbors(queries, references, k=1, **search_kwargs)
    score = float(np.mean(dist[:, 0], dtype=np.float64))
    return {"score": score, "num_queries": len(idx),
            "num_references": int(np.shape(references)[0]),
            "nearest_indices": idx[:, 0], "nearest_distances": dist[:, 0]}


def pixel_memorization_score(generated, train, **search_kwargs):
    """Memorization score in pixel space; images [n, h, w, c] in [0, 1]."""
    result = memorization_score(generated, train, **search_kwargs)
    logging.info("Pixel memorization score %.4f (%d vs %d images)",
                 result["score"], result["num_queries"],
                 result["num_references"])
    return result


def _features(images, feature_fn, batch_size):
    parts = [np.asarray(feature_fn(images[i:i + batch_size]))
             for i in range(0, len(images), batch_size)]
    return np.concatenate(parts)


def inception_memorization_score(generated, train, feature_fn,
                                 batch_size=500, **search_kwargs):
    """Memorization score in feature space (Inception pool_3 in the paper).

    Args:
      generated: images [n, h, w, c] in [0, 1].
      train: images [m, h, w, c] in [0, 1].
      feature_fn: images [b, h, w, c] -> [b, d], e.g.
        `inception.InceptionFeatures()`.
      batch_size: images per `feature_fn` call.
      **search_kwargs: chunk sizes for `nearest_neighbors`.

    Returns:
      As `memorization_score`.
    """
    result = memorization_score(_features(generated, feature_fn, batch_size),
                                _features(train, feature_fn, batch_size),
                                **search_kwargs)
    logging.info("Inception memorization score %.4f (%d vs %d images)",
                 result["score"], result["num_queries"],
                 result["num_references"])
    return result
