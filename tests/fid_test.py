"""Tests for flexae_tf.fid: closed forms, TF-GAN vs numpy, wrapper, cache."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from flexae_tf.metrics import fid


class RandomProjection:
    """Stand-in for Inception: a fixed random linear map of the pixels."""

    protocol = "test-random-projection-seed0"

    def __init__(self, num_pixels, dim=8):
        self.weights = np.random.default_rng(0).normal(size=(num_pixels, dim))
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        images = np.asarray(images, np.float64)
        return images.reshape(len(images), -1) @ self.weights


def _orthogonal_design(n, mu, variances):
    """Points whose sample mean is mu and sample covariance diag(variances).

    Columns are +-1 patterns of a 2^k factorial design repeated: zero mean,
    mutually orthogonal, sum of squares n; rescaled for unbiased variances.
    """
    d = len(mu)
    rows = np.array([[1 if (i >> j) & 1 else -1 for j in range(d)]
                     for i in range(2 ** d)], np.float64)
    x = np.tile(rows, (n // len(rows), 1))
    scale = np.sqrt(np.asarray(variances) * (len(x) - 1) / len(x))
    return x * scale + np.asarray(mu)


def test_design_has_the_intended_statistics():
    x = _orthogonal_design(16, [1.0, -2.0, 0.5], [1.0, 4.0, 9.0])
    stats = fid.activation_statistics(x)
    np.testing.assert_allclose(stats.mu, [1.0, -2.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(stats.sigma, np.diag([1.0, 4.0, 9.0]),
                               atol=1e-12)


def test_fid_of_a_set_with_itself_is_zero():
    acts = np.random.default_rng(1).normal(size=(300, 16))
    assert abs(fid.fid_from_activations(acts, acts)) < 1e-8
    stats = fid.activation_statistics(acts)
    assert abs(fid.numpy_frechet_distance(*stats, *stats)) < 1e-8


def test_equal_covariances_give_squared_mean_distance():
    # A shift leaves the sample covariance unchanged: FID = ||delta||^2.
    acts = np.random.default_rng(2).normal(size=(200, 5))
    delta = np.array([1.0, -2.0, 0.0, 0.5, 3.0])  # ||delta||^2 = 14.25
    assert fid.fid_from_activations(acts, acts + delta) == pytest.approx(
        14.25, abs=1e-8)


def test_diagonal_covariances_by_hand():
    # S1 = diag(1, 4), S2 = diag(4, 9): Tr(S1 + S2 - 2 (S1 S2)^(1/2))
    # = sum (sqrt(s1) - sqrt(s2))^2 = (1 - 2)^2 + (2 - 3)^2 = 2;
    # ||mu1 - mu2||^2 = 1^2 + 2^2 = 5. FID = 7.
    mu1, mu2 = np.zeros(2), np.array([1.0, 2.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])
    assert fid.numpy_frechet_distance(mu1, s1, mu2, s2) == pytest.approx(7.0)
    assert fid.fid_from_statistics(mu1, s1, mu2, s2) == pytest.approx(7.0)
    a1 = _orthogonal_design(8, mu1, [1.0, 4.0])
    a2 = _orthogonal_design(8, mu2, [4.0, 9.0])
    assert fid.fid_from_activations(a1, a2) == pytest.approx(7.0, abs=1e-9)


def test_tfgan_agrees_with_numpy_and_scipy_sqrtm():
    rng = np.random.default_rng(3)
    a1 = rng.normal(size=(400, 16)) @ rng.normal(size=(16, 16))
    a2 = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16)) + 0.3
    s1, s2 = fid.activation_statistics(a1), fid.activation_statistics(a2)
    reference = fid.numpy_frechet_distance(*s1, *s2)
    # A third, textbook formula: scipy's sqrtm of the product.
    covmean = scipy.linalg.sqrtm(s1.sigma @ s2.sigma).real
    textbook = (np.sum((s1.mu - s2.mu) ** 2) + np.trace(s1.sigma)
                + np.trace(s2.sigma) - 2 * np.trace(covmean))
    assert reference == pytest.approx(textbook, rel=1e-8)
    assert fid.fid_from_activations(a1, a2) == pytest.approx(reference,
                                                             rel=1e-8)
    assert fid.fid_from_statistics(*s1, *s2) == pytest.approx(reference,
                                                              rel=1e-8)


def test_too_few_samples_says_how_many_are_needed():
    acts = np.random.default_rng(4).normal(size=(16, 16))
    with pytest.raises(ValueError, match="at least 17 samples"):
        fid.fid_from_activations(acts, acts)
    with pytest.raises(ValueError, match="at least 17 samples"):
        fid.activation_statistics(acts)


def test_rejects_non_finite_and_misshapen_activations():
    acts = np.random.default_rng(5).normal(size=(50, 4))
    bad = acts.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fid.fid_from_activations(acts, bad)
    with pytest.raises(ValueError, match="num_samples, feature_dim"):
        fid.fid_from_activations(acts.reshape(50, 2, 2), acts)
    with pytest.raises(ValueError, match="dims differ"):
        fid.fid_from_activations(acts, acts[:, :3])


def _images(n, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.uniform(size=(n, 4, 4, 1)) * 0.5 + offset, 0, 1)


def test_compute_fid_from_array_dataset_and_sampler():
    feature_fn = RandomProjection(16)
    real = _images(60, seed=6).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((real, np.zeros(60)))
    same = fid.compute_fid(real, dataset, feature_fn, num_samples=50,
                           batch_size=16)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6)
    assert same["num_samples"] == 50
    assert feature_fn.protocol in same["implementation"]

    shifted = _images(60, seed=7, offset=0.5)
    sampler = iter(np.array_split(shifted, 6))  # 6 calls of 10 images.
    result = fid.compute_fid(lambda bs: next(sampler), real, feature_fn,
                             num_samples=50, batch_size=10)
    want = fid.numpy_frechet_distance(
        *fid.activation_statistics(feature_fn(shifted[:50])),
        *fid.activation_statistics(feature_fn(real[:50])))
    assert result["fid"] == pytest.approx(want, rel=1e-6)
    assert result["fid"] > 1.0


def test_compute_fid_fails_loudly_on_short_sources():
    feature_fn = RandomProjection(16)
    with pytest.raises(ValueError, match="only 30 of the 50"):
        fid.compute_fid(_images(30, 8), _images(60, 9), feature_fn,
                        num_samples=50)
