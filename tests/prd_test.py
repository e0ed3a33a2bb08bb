"""Tests for flexae_tf.prd: PRD curve formula, k-means, end-to-end scores."""

import numpy as np
import pytest

from flexae_tf.metrics import prd


def test_prd_curve_by_hand():
    # eval = (1, 0), ref = (1/2, 1/2): P(l) = min(l/2, 1) + min(l/2, 0),
    # R(l) = P(l) / l. With 3 angles: l ~ 0, 1, ~inf.
    precision, recall = prd.compute_prd([1.0, 0.0], [0.5, 0.5], num_angles=3)
    np.testing.assert_allclose(precision, [0.0, 0.5, 1.0], atol=1e-9)
    np.testing.assert_allclose(recall, [0.5, 0.5, 0.0], atol=1e-9)


def test_max_f_beta_by_hand():
    # Same pair on the full curve. Both maxima sit at the kink l = 2
    # (P = 1, R = 1/2): F_8 = 65 * 0.5 / (64 + 0.5) = 0.50388,
    # F_1/8 = (65/64) * 0.5 / (1/64 + 0.5) = 0.98485.
    precision, recall = prd.compute_prd([1.0, 0.0], [0.5, 0.5])
    f_8, f_inv = prd.max_f_beta_pair(precision, recall, beta=8)
    assert f_8 == pytest.approx(65 * 0.5 / 64.5, abs=1e-3)
    assert f_inv == pytest.approx((65 / 64) * 0.5 / (1 / 64 + 0.5), abs=1e-3)


def test_prd_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_angles"):
        prd.compute_prd([0.5, 0.5], [0.5, 0.5], num_angles=2)
    with pytest.raises(ValueError, match="probability"):
        prd.compute_prd([2.0, 0.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="equal shape"):
        prd.compute_prd_from_embedding(np.zeros((30, 2)), np.zeros((31, 2)))


def _blobs(rng, centers, per_blob, scale=0.3):
    return np.concatenate([c + scale * rng.normal(size=(per_blob, len(c)))
                           for c in np.asarray(centers, np.float64)])


def test_kmeans_finds_separated_blobs_deterministically():
    rng = np.random.default_rng(0)
    centers = 10.0 * np.eye(4)
    data = _blobs(rng, centers, 50)
    labels, found = prd.kmeans(data, 4, seed=1)
    again, _ = prd.kmeans(data, 4, seed=1)
    np.testing.assert_array_equal(labels, again)
    for blob in range(4):  # Every blob is exactly one cluster.
        assert len(set(labels[blob * 50:(blob + 1) * 50])) == 1
    assert len(set(labels)) == 4
    np.testing.assert_allclose(np.sort(found.sum(1)), [10.0] * 4, atol=0.5)


def test_identical_sets_score_one():
    data = _blobs(np.random.default_rng(2), 5.0 * np.eye(8), 60)
    scores = prd.compute_prd_scores(data, data.copy())
    assert scores["precision"] > 0.99 and scores["recall"] > 0.99
    assert scores["num_samples"] == len(data)
    assert scores["precision_curve"].shape == (1001,)


def test_far_apart_sets_score_zero():
    rng = np.random.default_rng(3)
    near, far = rng.normal(size=(200, 8)), 100.0 + rng.normal(size=(200, 8))
    scores = prd.compute_prd_scores(near, far)
    assert scores["precision"] < 0.01 and scores["recall"] < 0.01


def test_missing_mode_lowers_recall_not_precision():
    # Generated samples cover one of the two reference modes: the curve
    # approaches the hand case above (recall ~0.5, precision ~1).
    rng = np.random.default_rng(4)
    ref = _blobs(rng, [np.zeros(4), 20.0 * np.ones(4)], 150, scale=1.0)
    generated = _blobs(rng, [np.zeros(4)], 300, scale=1.0)
    scores = prd.compute_prd_scores(generated, ref, num_runs=3)
    assert 0.4 < scores["recall"] < 0.6
    assert scores["precision"] > 0.9


def test_scores_are_reproducible_for_a_seed():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(100, 6)), rng.normal(size=(100, 6)) + 0.5
    first = prd.compute_prd_scores(a, b, num_runs=2, seed=7)
    second = prd.compute_prd_scores(a, b, num_runs=2, seed=7)
    assert first["precision"] == second["precision"]
    assert first["recall"] == second["recall"]


def test_matches_the_reference_recipe_with_sklearn_minibatch_kmeans():
    """compare_gan's prd_score: MiniBatchKMeans(n_clusters=20, n_init=10)
    on the union, density histograms, PRD, mean over runs."""
    from sklearn import cluster  # pylint: disable=g-import-not-at-top
    rng = np.random.default_rng(8)
    a = _blobs(rng, 4.0 * np.eye(6), 40)
    b = _blobs(rng, 4.0 * np.eye(6)[:4], 60)
    seeds = np.random.default_rng(3).integers(2**31 - 1, size=2)
    curves = []
    for s in seeds:
        labels = cluster.MiniBatchKMeans(
            n_clusters=20, n_init=10, random_state=int(s)).fit(
                np.vstack([a, b])).labels_
        bins = dict(bins=20, range=[0, 20], density=True)
        curves.append(prd.compute_prd(np.histogram(labels[:240], **bins)[0],
                                      np.histogram(labels[240:], **bins)[0]))
    want = np.mean([c[0] for c in curves], 0), np.mean([c[1] for c in curves], 0)
    got = prd.compute_prd_from_embedding(a, b, num_runs=2, seed=3)
    np.testing.assert_allclose(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1])


def test_plot_is_a_png():
    curve = prd.compute_prd([0.5, 0.5], [0.9, 0.1])
    png = prd.plot_prd({"model": curve}, "N=2")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
