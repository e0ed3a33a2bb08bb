"""WAE-GAN (Tolstikhin et al. 2018): its JS losses and one training step."""

import flexae_tf  # pylint: disable=unused-import
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.models import wae_gan

# Narrow networks (tests/conftest.py), gin cleared around each test.
pytestmark = pytest.mark.usefixtures("small_networks")


def test_js_losses_and_signs_on_a_hand_computed_case():
    ln3 = np.log(3.0)
    prior = tf.Variable([0.0, ln3])
    codes = tf.Variable([0.0, -ln3])
    with tf.GradientTape(persistent=True) as tape:
        d_loss = wae_gan.discriminator_loss(prior, codes)
        e_loss = wae_gan.encoder_adversarial_loss(codes)
    # sigmoid(ln 3) = 3/4: -log(1/2) and -log(3/4) on each side.
    np.testing.assert_allclose(float(d_loss), np.log(8.0 / 3.0), rtol=1e-6)
    # -log sigmoid(0) = ln 2, -log sigmoid(-ln 3) = ln 4.
    np.testing.assert_allclose(float(e_loss), 1.5 * np.log(2.0), rtol=1e-6)
    # The discriminator lowers its loss by raising prior logits ("true")
    # and lowering code logits; the encoder by raising code logits.
    assert np.all(tape.gradient(d_loss, prior).numpy() < 0)
    assert np.all(tape.gradient(d_loss, codes).numpy() > 0)
    assert np.all(tape.gradient(e_loss, codes).numpy() < 0)


def test_one_step_moves_each_side_with_its_own_optimizer():
    tf.keras.utils.set_random_seed(0)
    model = wae_gan.WAEGAN((28, 28, 1), latent_dim=3, prior_sigma=2.0)
    model.compile()
    images = tf.random.stateless_uniform((8, 28, 28, 1), seed=[1, 2])
    before = {v.path: v.numpy() for v in
              model.encoder.trainable_variables
              + model.discriminator.trainable_variables}
    logs = model.train_step(images[None])
    assert all(np.isfinite(float(v)) for v in logs.values())
    for v in (model.encoder.trainable_variables
              + model.discriminator.trainable_variables):
        assert not np.allclose(before[v.path], v.numpy()), v.path
    assert model.reconstruction_optimizer.iterations.numpy() == 1
    assert model.discriminator_optimizer.iterations.numpy() == 1
    noise = tf.random.stateless_normal((4, 3), seed=[0, 0])
    np.testing.assert_allclose(model.prior_codes(noise), 2.0 * noise)


def test_discriminator_learns_to_tell_codes_from_the_prior():
    tf.keras.utils.set_random_seed(0)
    # Codes of an untrained encoder sit near 0, far inside N(0, 25 I):
    # the JS discriminator must learn to separate the two.
    model = wae_gan.WAEGAN((28, 28, 1), latent_dim=2, prior_sigma=5.0,
                           adversarial_weight=1.0,
                           discriminator_learning_rate=1e-2)
    model.compile()
    images = tf.random.stateless_uniform((64, 28, 28, 1), seed=[3, 3])
    # In a graph, as fit runs it: 31 eager steps of op-by-op dispatch took
    # 5 s alone and up to a minute beside the other pytest worker's
    # TensorFlow processes.
    step = tf.function(model.train_step)
    first = step(images[None])["discriminator_loss"]
    for _ in range(30):
        logs = step(images[None])
    # Logged values are running means over the 31 steps.
    assert float(logs["discriminator_accuracy"]) > 0.8
    assert float(logs["discriminator_loss"]) < float(first)
