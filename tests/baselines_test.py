"""The baselines: Gaussian-mixture prior, AE/RAE + GMM, VAE."""

import subprocess
import sys

import flexae_tf  # pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.models import rae
from flexae_tf.models import vae
from flexae_tf.storage import checkpoints
from flexae_tf.models import gmm
from flexae_tf.core import paths
from tests import helpers

# Narrow networks (tests/conftest.py), gin cleared around each test.
pytestmark = pytest.mark.usefixtures("small_networks")


def _two_clusters(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.multivariate_normal([5, 0], [[1, 0.8], [0.8, 1]], int(0.3 * n))
    b = rng.multivariate_normal([-5, 2], [[0.5, 0], [0, 2]], n - len(a))
    return np.concatenate([a, b])


def test_mixture_layer_matches_the_sklearn_fit_it_wraps():
    fitted = gmm.fit_gmm(_two_clusters(), num_components=2)
    prior = gmm.GaussianMixturePrior(2, num_components=2)
    prior.assign_sklearn(fitted)
    np.testing.assert_allclose(prior.weights_.numpy(), fitted.weights_,
                               rtol=1e-6)
    # The fit itself recovers the planted components.
    order = np.argsort(fitted.means_[:, 0])
    np.testing.assert_allclose(fitted.weights_[order], [0.7, 0.3],
                               atol=0.02)
    np.testing.assert_allclose(fitted.means_[order], [[-5, 2], [5, 0]],
                               atol=0.1)
    # Density: the layer's log p(z) equals sklearn's score_samples.
    points = np.random.default_rng(1).normal(0, 4, (500, 2))
    np.testing.assert_allclose(
        prior.log_density(points.astype(np.float32)).numpy(),
        fitted.score_samples(points), rtol=1e-4, atol=1e-4)
    # Sampler: the noise-in samples have the fitted mixture's moments.
    noise = tf.random.stateless_normal((200000, 3), seed=[0, 2])
    samples = prior(noise).numpy().astype(np.float64)
    reference = fitted.sample(200000)[0]
    np.testing.assert_allclose(samples.mean(0), reference.mean(0),
                               atol=0.05)
    np.testing.assert_allclose(np.cov(samples.T), np.cov(reference.T),
                               atol=0.1)


def test_mixture_sampler_matches_the_fitted_moments():
    weights = np.array([0.25, 0.75])
    means = np.array([[2.0, -1.0], [-1.0, 3.0]])
    covs = np.array([[[1.0, 0.5], [0.5, 2.0]], [[0.3, 0.0], [0.0, 0.1]]])
    prior = gmm.GaussianMixturePrior(2, num_components=2)
    prior.assign_fit(weights, means, covs)
    noise = tf.random.stateless_normal((200000, 3), seed=[0, 1])
    samples = prior(noise).numpy().astype(np.float64)
    mixture_mean = weights @ means
    centred = means - mixture_mean
    mixture_cov = sum(w * (c + np.outer(m, m))
                      for w, c, m in zip(weights, covs, centred))
    np.testing.assert_allclose(samples.mean(0), mixture_mean, atol=0.02)
    np.testing.assert_allclose(np.cov(samples.T), mixture_cov, atol=0.03)
    # The last noise coordinate picks the component: the tight second
    # component (std <= 0.55) holds three quarters of the draws, all but
    # ~0.1% within distance 2 of its mean; the first, 5 away, adds ~1%.
    near_second = np.linalg.norm(samples - means[1], axis=1) < 2.0
    assert 0.73 < near_second.mean() < 0.78


def test_rae_regularisers_have_hand_computed_values():
    tf.keras.utils.set_random_seed(0)
    model = rae.AutoEncoderGMM((28, 28, 1), latent_dim=4,
                               code_penalty_weight=1.0,
                               decoder_weight_decay=0.5)
    model.compile()
    images = tf.random.stateless_uniform((3, 28, 28, 1), seed=[1, 1])
    codes = model.encoder(images, training=True).numpy()
    kernels = [w.numpy() for w in model.decoder.trainable_variables
               if len(w.shape) > 1]
    logs = model.train_step(images[None])
    # The authors' embedding loss: mean_j z_j^2, averaged over the batch.
    np.testing.assert_allclose(float(logs["code_penalty"]),
                               np.mean(codes**2), rtol=1e-4)
    np.testing.assert_allclose(float(logs["decoder_l2"]),
                               sum(np.sum(k**2) for k in kernels), rtol=1e-4)


def test_rae_weights_are_the_authors_scaled_by_the_pixel_count():
    """Their per-pixel objective times H * W = 784 is ours (rae.py)."""
    tf.keras.utils.set_random_seed(0)
    model = rae.AutoEncoderGMM((28, 28, 1), latent_dim=4,
                               code_penalty_weight=1e-4,
                               decoder_weight_decay=1e-7)
    images = tf.random.stateless_uniform((3, 28, 28, 1), seed=[1, 2])
    total, terms = model.objective(images, training=False)
    codes = model.encode(images).numpy()
    recon = np.mean(np.sum(
        (images.numpy() - model.reconstruct(images).numpy())**2,
        axis=(1, 2, 3)))
    kernels = sum(np.sum(w.numpy()**2) for w in
                  model.decoder.trainable_variables if len(w.shape) > 1)
    per_pixel = (recon / 784 + 1e-4 * np.mean(codes**2)
                 + 1e-7 * kernels)
    np.testing.assert_allclose(float(total), 784 * per_pixel, rtol=1e-4)
    np.testing.assert_allclose(float(terms["recon_loss"]), recon, rtol=1e-4)


def test_gmm_prior_is_fitted_checkpointed_and_used_by_sample():
    tf.keras.utils.set_random_seed(0)
    model = rae.AutoEncoderGMM((28, 28, 1), latent_dim=4,
                               num_components=3)
    model.compile()
    images = tf.random.stateless_uniform((64, 28, 28, 1), seed=[2, 2])
    model.fit_prior([images[:32], images[32:]])
    codes = model.encode(images).numpy()
    np.testing.assert_allclose(
        float(tf.reduce_sum(model.prior.weights_)), 1.0, rtol=1e-5)
    assert np.abs(model.prior.means.numpy() @ np.ones(4)).sum() > 0
    samples = model.prior_codes(tf.random.normal((5000, 5))).numpy()
    np.testing.assert_allclose(samples.mean(0), codes.mean(0),
                               atol=0.2 * codes.std() + 1e-3)
    assert "gaussian_mixture" in model.trackables(inference_only=True)
    assert model.sample(3, seed=1).shape == (3, 28, 28, 1)


def test_vae_kl_matches_the_closed_form():
    tf.keras.utils.set_random_seed(0)
    model = vae.VAE((28, 28, 1), latent_dim=3)
    model.compile()
    images = tf.random.stateless_uniform((4, 28, 28, 1), seed=[3, 3])
    mean, log_var = [t.numpy() for t in model._posterior(images, True)]
    logs = model.train_step(images[None])
    expected = 0.5 * np.mean(np.sum(np.exp(log_var) + mean**2 - 1 - log_var,
                                    axis=1))
    np.testing.assert_allclose(float(logs["kl"]), expected, rtol=1e-4)
    np.testing.assert_allclose(model.encode(images).numpy(),
                               model._posterior(images, False)[0].numpy())


@helpers.needs_mnist
def test_ae_gmm_trains_from_gin_and_restores_its_mixture(tmp_path):
    model_dir = str(tmp_path / "ae_gmm")
    result = subprocess.run(
        [sys.executable, "-m", "flexae_tf.main", "--gin_file=gin/tiny.gin",
         "--gin_file=gin/ae_gmm.gin", f"--model_dir={model_dir}",
         "--gin_param=AutoEncoderGMM.num_fit_images=400"],
        cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    model, iteration, _ = checkpoints.load_trained(model_dir)
    assert iteration == 4 and isinstance(model, rae.AutoEncoderGMM)
    means = model.prior.means.numpy()
    assert np.abs(means).sum() > 0  # fitted, not the N(0, I) placeholder
    samples = model.sample(8, seed=0).numpy()
    assert samples.shape == (8, 28, 28, 1)
    assert 0.0 <= samples.min() <= samples.max() <= 1.0
