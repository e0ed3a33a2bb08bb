"""Tests for flexae_tf.memorization: hand-made sets and brute force."""

import numpy as np
import pytest

from flexae_tf.metrics import memorization


def test_hand_made_points():
    # a0=(0,0): b0=(0,1) at 1, b1=(3,0) at 3 -> 1.
    # a1=(3,4): b1 at 4, b0 at sqrt(9+9)=4.24 -> 4.
    # a2=(10,0): b2=(10,0) at 0. Score = (1 + 4 + 0) / 3.
    a = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    b = np.array([[0.0, 1.0], [3.0, 0.0], [10.0, 0.0]])
    result = memorization.memorization_score(a, b)
    np.testing.assert_array_equal(result["nearest_indices"], [0, 1, 2])
    np.testing.assert_allclose(result["nearest_distances"], [1.0, 4.0, 0.0])
    assert result["score"] == pytest.approx(5.0 / 3.0)
    assert result["num_queries"] == 3 and result["num_references"] == 3


def test_k_nearest_by_hand():
    refs = np.array([[0.0], [1.0], [5.0], [-2.0]])
    idx, dist = memorization.nearest_neighbors(np.array([[0.4]]), refs, k=3)
    np.testing.assert_array_equal(idx, [[0, 1, 3]])
    np.testing.assert_allclose(dist, [[0.4, 0.6, 2.4]], rtol=1e-6)


@pytest.mark.parametrize("k", [1, 3])
def test_chunked_search_matches_brute_force(k):
    rng = np.random.default_rng(0)
    queries, refs = rng.normal(size=(37, 10)), rng.normal(size=(53, 10))
    idx, dist = memorization.nearest_neighbors(
        queries, refs, k=k, query_chunk=8, reference_chunk=7)
    brute = np.linalg.norm(queries[:, None] - refs[None], axis=-1)
    want_idx = np.argsort(brute, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(
        dist, np.take_along_axis(brute, want_idx, 1), rtol=1e-5)


def test_exact_copies_are_at_distance_zero():
    # Large norms make ||a||^2 - 2ab + ||b||^2 cancel badly in float32;
    # the reported distance is recomputed directly, so copies give 0.
    rng = np.random.default_rng(1)
    train = rng.uniform(0.9, 1.0, size=(20, 28, 28, 1))
    result = memorization.pixel_memorization_score(train[5:9], train)
    np.testing.assert_array_equal(result["nearest_indices"], [5, 6, 7, 8])
    assert result["score"] == 0.0


def test_pixel_score_on_images():
    # Constant 4x4 images: distance between levels u and v is 4 |u - v|.
    train = np.stack([np.full((4, 4, 1), v) for v in (0.0, 0.5, 1.0)])
    generated = np.stack([np.full((4, 4, 1), v) for v in (0.1, 0.9)])
    result = memorization.pixel_memorization_score(generated, train)
    np.testing.assert_array_equal(result["nearest_indices"], [0, 2])
    assert result["score"] == pytest.approx(4 * 0.1, rel=1e-5)


def test_inception_score_uses_the_feature_space():
    # Features: per-image mean (1-d). Generated means 0.2 and 0.7; train
    # means 0.0, 0.25, 1.0 -> nearest 0.25 (at 0.05) and 1.0 (at 0.3),
    # score 0.175.
    def feature_fn(images):
        return np.mean(images, axis=(1, 2, 3))[:, None]

    rng = np.random.default_rng(2)

    def images_with_means(means):
        noise = rng.uniform(-1, 1, size=(len(means), 4, 4, 1)) * 0.01
        noise -= noise.mean(axis=(1, 2, 3), keepdims=True)
        return np.asarray(means)[:, None, None, None] + noise

    result = memorization.inception_memorization_score(
        images_with_means([0.2, 0.7]), images_with_means([0.0, 0.25, 1.0]),
        feature_fn, batch_size=2)
    np.testing.assert_array_equal(result["nearest_indices"], [1, 2])
    assert result["score"] == pytest.approx(0.175, abs=1e-6)


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match="sizes differ"):
        memorization.nearest_neighbors(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="k must be"):
        memorization.nearest_neighbors(np.zeros((2, 3)), np.zeros((2, 3)),
                                       k=3)
    with pytest.raises(ValueError, match="NaN"):
        memorization.nearest_neighbors(np.full((2, 3), np.nan),
                                       np.zeros((2, 3)))
