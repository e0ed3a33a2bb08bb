"""MaskAAE (Mondal et al. 2020): the mask objective and the training step."""

import flexae_tf  # pylint: disable=unused-import
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.models import mask_aae

# Narrow networks (tests/conftest.py), gin cleared around each test.
pytestmark = pytest.mark.usefixtures("small_networks")


def test_mask_objective_turns_off_an_unused_dimension():
    """Toy: x = t u needs only code dimension 0; dimension 1 carries a
    collapsed, prior-mismatched code (std 0.1 vs the prior's 1). A fixed
    quadratic critic C(z) = |z|^2 scores the prior higher where the two
    differ. Minimising the mask objective keeps dimension 0 and switches
    dimension 1 off (alpha_1 below the 0.1 activity threshold)."""
    rng = np.random.default_rng(0)
    t = rng.standard_normal(512).astype(np.float32)
    codes = np.stack([t, 0.1 * rng.standard_normal(512)], 1).astype(
        np.float32)
    prior = rng.standard_normal((512, 2)).astype(np.float32)
    u = rng.uniform(size=(1, 16)).astype(np.float32)
    images = t[:, None] * u
    logits = tf.Variable([0.5, 0.5])  # alpha = 0.39 on both
    optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
    for step in range(600):
        with tf.GradientTape() as tape:
            alpha = 1.0 - tf.exp(-logits)
            decoded = (codes * alpha)[:, :1] * u
            recon = tf.reduce_mean(tf.square(images - decoded))
            critic = lambda z: tf.reduce_sum(tf.square(z), 1, keepdims=True)
            loss = mask_aae.mask_objective(
                recon, critic(codes * alpha), critic(prior * alpha), alpha,
                polarisation_weight=0.1 * 2.0 ** (step // 100))
        optimizer.apply([tape.gradient(loss, logits)], [logits])
        logits.assign(tf.maximum(logits, 0.0))  # the NonNeg constraint
    alpha = 1.0 - np.exp(-logits.numpy())
    assert alpha[0] > 0.9 and alpha[1] < 0.1, alpha


def test_polarisation_and_variance_penalty_hand_computed():
    alpha = tf.constant([0.0, 0.5, 1.0, 0.2])
    np.testing.assert_allclose(float(mask_aae.polarisation(alpha)),
                               0.25 + 0.16, rtol=1e-6)
    codes = tf.constant([[1.0, 2.0, 0.0, 0.0], [3.0, 2.0, 0.0, 2.0]])
    # Centred squares: dim 0 -> 1, 1; dim 3 -> 1, 1; weights exp(-10 a^2).
    expected = (2 * 1.0 + 2 * np.exp(-0.4)) / 8
    np.testing.assert_allclose(
        float(mask_aae.variance_penalty(codes, alpha)), expected, rtol=1e-6)


def test_schedule_interval_is_the_authors_rule():
    assert mask_aae.schedule_interval(8) == 75
    assert mask_aae.schedule_interval(48) == 5400
    assert mask_aae.schedule_interval(128) == 10000


def test_schedule_scale_shortens_t_and_moves_the_first_doubling():
    """A 5,000-iteration suite scales T by 5000 / 130000: m = 32 gives
    T = 3600 * 0.03846 = 138, so p doubles first at iteration 552 (not
    14,400) and the losses decay after 690."""
    model = mask_aae.MaskAAE((28, 28, 1), latent_dim=32, critic_steps=1,
                             schedule_scale=5000 / 130000)
    assert model.interval == 138
    assert model.budget_schedules() == {
        "MaskAAE T (p doubles every 4 T; AE and mask losses x 0.2 after "
        "5 T)": 138}
    for step, (p, decay) in ((551, (2 / 32, 1.0)), (552, (4 / 32, 1.0)),
                             (691, (4 / 32, 0.2))):
        model.iteration.assign(step)
        np.testing.assert_allclose(
            [float(v) for v in model._schedules()], [p, decay], rtol=1e-6)
    with pytest.raises(errors.UserError, match="schedule_scale"):
        mask_aae.MaskAAE((28, 28, 1), latent_dim=4, schedule_scale=0.0)


def test_train_step_updates_each_part_with_its_own_optimizer():
    tf.keras.utils.set_random_seed(0)
    model = mask_aae.MaskAAE((28, 28, 1), latent_dim=4, critic_steps=1)
    model.compile()
    alpha = model.alpha.numpy()
    assert np.all((0 <= alpha) & (alpha < 1))
    groups = tf.random.stateless_uniform(
        (model.group_size, 8, 28, 28, 1), seed=[4, 4])
    before = model.mask_logits.numpy()
    logs = model.train_step(groups)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert not np.allclose(before, model.mask_logits.numpy())
    for opt in (model.reconstruction_optimizer, model.mask_optimizer,
                model.latent_critic_optimizer,
                model.encoder_adversarial_optimizer):
        assert int(opt.iterations.numpy()) == 1, opt.name
    np.testing.assert_allclose(float(logs["polarisation_weight"]), 0.5)
    assert float(logs["active_dimensions"]) == float(
        np.sum(model.alpha.numpy() >= 0.1))
    # Prior samples and codes go through the same mask.
    noise = tf.ones((2, 4))
    np.testing.assert_allclose(model.prior_codes(noise).numpy(),
                               np.tile(model.alpha.numpy(), (2, 1)))
    assert "mask_logits" in model.trackables(inference_only=True)
