"""RealNVP flow prior and FP-VAE."""

import flexae_tf  # pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.models import flows
from flexae_tf.models import fp_vae

# Narrow networks (tests/conftest.py), gin cleared around each test.
pytestmark = pytest.mark.usefixtures("small_networks")


def _random_flow(dim, dtype="float32", scale=0.2):
    """A flow with random (non-identity) weights, in float64 if asked."""
    tf.keras.utils.set_random_seed(1)
    flow = flows.FlowPrior(dim, num_layers=4, hidden_units=16, dtype=dtype)
    flow(tf.zeros((1, dim), dtype))
    rng = np.random.default_rng(0)
    for w in flow.weights:
        w.assign(rng.normal(0, scale, w.shape))
    return flow


@pytest.mark.parametrize("dim", [2, 5, 8])
def test_flow_is_invertible_both_ways(dim):
    flow = _random_flow(dim)
    x = tf.random.stateless_normal((64, dim), seed=[dim, 0])
    z, log_det = flow.forward(x)
    back, inv_log_det = flow.inverse(z)
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-5)
    np.testing.assert_allclose(inv_log_det.numpy(), -log_det.numpy(),
                               atol=1e-5)
    again, _ = flow.forward(flow.inverse(x)[0])
    np.testing.assert_allclose(again.numpy(), x.numpy(), atol=1e-5)
    # The random weights make it far from the identity.
    assert np.abs(z.numpy() - x.numpy()).max() > 0.1


def test_log_det_matches_a_numerical_jacobian():
    dim, h = 5, 1e-6
    flow = _random_flow(dim, "float64")
    x = np.random.default_rng(2).normal(size=(3, dim))
    _, log_det = flow.forward(tf.constant(x))
    for i in range(3):
        jacobian = np.empty((dim, dim))
        for j in range(dim):  # central differences, column j
            step = np.zeros((1, dim))
            step[0, j] = h
            up = flow.forward(tf.constant(x[i:i + 1] + step))[0].numpy()
            down = flow.forward(tf.constant(x[i:i + 1] - step))[0].numpy()
            jacobian[:, j] = (up - down)[0] / (2 * h)
        sign, numeric = np.linalg.slogdet(jacobian)
        assert sign != 0
        np.testing.assert_allclose(log_det.numpy()[i], numeric, atol=1e-6)


def test_log_prob_is_a_normalised_density_in_2d():
    flow = _random_flow(2, "float64")
    # Riemann sum of p(z) over a wide grid is 1.
    grid = np.linspace(-12, 12, 601)
    zz = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2)
    density = np.exp(flow.log_prob(tf.constant(zz)).numpy())
    total = density.sum() * (grid[1] - grid[0]) ** 2
    np.testing.assert_allclose(total, 1.0, atol=1e-3)


def test_fp_vae_warm_up_scales_with_the_suites_budget():
    # 10,000 of the paper's 130,000 iterations -> 385 of 5,000.
    model = fp_vae.FPVAE((28, 28, 1), latent_dim=2, warmup_iterations=10000,
                         schedule_scale=5000 / 130000)
    assert model.budget_schedules() == {
        "FP-VAE KL warm-up (iterations)": 385}


def test_fp_vae_anneals_beta_and_trains_the_flow():
    tf.keras.utils.set_random_seed(0)
    model = fp_vae.FPVAE((28, 28, 1), latent_dim=4, beta=0.5,
                         warmup_iterations=4)
    model.compile()
    images = tf.random.stateless_uniform((8, 28, 28, 1), seed=[5, 5])
    flow_before = [w.numpy() for w in model.flow.trainable_weights]
    betas = []
    for _ in range(6):
        logs = model.train_step(images[None])
        betas.append(float(model._kl_weight()))  # after the step
    # beta_t = 0.5 * min(1, t / 4) at iterations t = 1 .. 6.
    np.testing.assert_allclose(betas, [0.125, 0.25, 0.375, 0.5, 0.5, 0.5])
    assert np.isfinite(float(logs["kl"]))
    changed = [not np.allclose(a, b.numpy()) for a, b in
               zip(flow_before, model.flow.trainable_weights)]
    assert any(changed)
    noise = tf.random.stateless_normal((3, 4), seed=[0, 0])
    np.testing.assert_allclose(model.prior_codes(noise).numpy(),
                               model.flow.forward(noise)[0].numpy())
    assert model.sample(2, seed=0).shape == (2, 28, 28, 1)
    assert "flow_prior" in model.trackables(inference_only=True)


def test_fp_vae_kl_estimate_is_unbiased_against_a_standard_prior():
    """With an identity flow, E[log q - log p] is the closed-form KL."""
    tf.keras.utils.set_random_seed(0)
    model = fp_vae.FPVAE((28, 28, 1), latent_dim=3)
    mean = tf.constant([[0.5, -1.0, 0.0]] * 20000)
    log_var = tf.constant([[0.2, -0.5, 0.0]] * 20000)
    eps = tf.random.stateless_normal((20000, 3), seed=[1, 1])
    codes = mean + tf.exp(0.5 * log_var) * eps
    estimate = float(model._kl(mean, log_var, codes))
    exact = 0.5 * np.sum(np.exp([0.2, -0.5, 0.0]) + np.square([0.5, -1, 0])
                         - 1 - np.array([0.2, -0.5, 0.0]))
    np.testing.assert_allclose(estimate, exact, atol=0.03)


def test_fp_vae_at_beta_zero_still_fits_the_flow_to_the_codes():
    """beta = 0 frees the encoder, not the prior: the flow's fit to the
    codes is its own term, so its likelihood of fixed codes rises, and a
    training step at beta = 0 moves the flow (it did not when the flow
    learnt only through beta * KL)."""
    tf.keras.utils.set_random_seed(0)
    model = fp_vae.FPVAE((28, 28, 1), latent_dim=4, beta=0.0,
                         warmup_iterations=0)
    model.compile()
    codes = tf.random.stateless_normal((256, 4), seed=[2, 2]) * 3.0 + 2.0
    before = float(model._prior_fit(codes))
    optimizer = tf.keras.optimizers.Adam(1e-2)
    for _ in range(50):
        with tf.GradientTape() as tape:
            fit = model._prior_fit(codes)
        optimizer.apply_gradients(zip(
            tape.gradient(fit, model.flow.trainable_variables),
            model.flow.trainable_variables))
    assert float(model._prior_fit(codes)) < before - 1.0
    images = tf.random.stateless_uniform((8, 28, 28, 1), seed=[5, 5])
    flow_before = [w.numpy() for w in model.flow.trainable_weights]
    model.train_step(images[None])
    assert any(not np.allclose(a, b.numpy()) for a, b in
               zip(flow_before, model.flow.trainable_weights))
