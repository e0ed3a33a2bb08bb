"""Golden values for the pure losses (derivations in the comments)."""

import flexae_tf  # pylint: disable=unused-import
import numpy as np
import tensorflow as tf

from flexae_tf.models import losses


def test_reconstruction_loss_is_batch_mean_of_per_image_sums():
    images = np.zeros((2, 2, 2, 1), np.float32)
    recon = np.zeros((2, 2, 2, 1), np.float32)
    recon[0] = 1.0      # image 0: 4 pixels off by 1 -> 4
    recon[1, 0, 0] = 3  # image 1: one pixel off by 3 -> 9
    assert float(losses.reconstruction_loss(images, recon)) == 6.5


def test_critic_and_generator_losses_follow_the_sign_convention():
    real = tf.constant([[3.0], [1.0]])   # mean 2
    fake = tf.constant([[-1.0], [0.0]])  # mean -0.5
    # Critic loss = mean C(fake) - mean C(real) = -2.5 (negative W estimate).
    assert float(losses.critic_loss(real, fake)) == -2.5
    assert float(losses.generator_loss(fake)) == 0.5


def test_gradient_penalty_of_scaled_identity_critic_is_four():
    # C(x) = 3x on [b, 1]: |grad| = 3 for any alpha, (3 - 1)^2 = 4.
    real = tf.random.normal((5, 1))
    fake = tf.random.normal((5, 1))
    alpha = tf.random.uniform((5,))
    penalty = losses.gradient_penalty(lambda x, training: 3.0 * x, real,
                                      fake, alpha)
    np.testing.assert_allclose(float(penalty), 4.0, rtol=1e-5)


def test_gradient_penalty_norm_spans_all_non_batch_axes():
    # C(x) = sum(w * x) on images: grad = w everywhere, so the norm is
    # ||w||_2 over H, W and C together. w = 0.5 on 2*2*1 pixels -> norm 1,
    # penalty 0; w = 1 -> norm 2, penalty (2 - 1)^2 = 1.
    real = tf.random.uniform((3, 2, 2, 1))
    fake = tf.random.uniform((3, 2, 2, 1))
    alpha = tf.random.uniform((3,))
    for weight, expected in ((0.5, 0.0), (1.0, 1.0)):
        def critic(x, training, w=weight):
            del training
            return tf.reduce_sum(w * x, axis=(1, 2, 3))[:, None]
        penalty = losses.gradient_penalty(critic, real, fake, alpha)
        np.testing.assert_allclose(float(penalty), expected, atol=1e-5)


def test_gradient_penalty_uses_one_alpha_per_example():
    # C(x) = x0 * x1: the gradient at the mix depends on where the mix is;
    # compare with the penalty computed by hand at a*real + (1-a)*fake.
    real = tf.constant([[1.0, 2.0], [0.0, 1.0]])
    fake = tf.constant([[3.0, 0.0], [2.0, 2.0]])
    alpha = tf.constant([0.25, 1.0])
    mixed = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    # grad of x0*x1 = (x1, x0)
    norms = np.linalg.norm(mixed.numpy()[:, ::-1], axis=1)
    expected = np.mean((norms - 1.0) ** 2)
    penalty = losses.gradient_penalty(
        lambda x, training: (x[:, 0] * x[:, 1])[:, None], real, fake, alpha)
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-5)


def test_interpolate_is_per_example():
    a = tf.ones((2, 2, 2, 1))
    b = tf.zeros((2, 2, 2, 1))
    mixed = losses.interpolate(a, b, tf.constant([0.2, 0.9]))
    np.testing.assert_allclose(mixed.numpy()[0], 0.2)
    np.testing.assert_allclose(mixed.numpy()[1], 0.9)


def _two_call_losses(critic, real, fake, alpha):
    """The textbook form: real and fake scored in separate critic calls."""
    return (losses.critic_loss(critic(real, training=True),
                               critic(fake, training=True)),
            losses.gradient_penalty(critic, real, fake, alpha))


def test_one_call_critic_losses_equal_two_calls_with_same_gradients():
    from flexae_tf.models import networks
    cases = [(networks.ImageCritic(), (6, 28, 28, 1)),
             (networks.LatentCritic(hidden_units=64), (6, 8))]
    for critic, shape in cases:
        real = tf.random.normal(shape, seed=1)
        fake = tf.random.normal(shape, seed=2)
        alpha = tf.random.uniform(shape[:1], seed=3)
        critic(real)  # build
        results = []
        for compute in (losses.wgan_gp_critic_losses, _two_call_losses):
            with tf.GradientTape() as tape:
                loss, penalty = compute(critic, real, fake, alpha)
                total = loss + 10.0 * penalty
            results.append((loss, penalty, tape.gradient(
                total, critic.trainable_variables)))
        (loss, penalty, grads), (loss_2, penalty_2, grads_2) = results
        assert float(penalty) > 0.0 and float(loss) != 0.0
        np.testing.assert_allclose(float(loss), float(loss_2), rtol=1e-5)
        np.testing.assert_allclose(float(penalty), float(penalty_2),
                                   rtol=1e-5)
        assert len(grads) == len(critic.trainable_variables) > 0
        for variable, grad, grad_2 in zip(critic.trainable_variables, grads,
                                          grads_2):
            # The output bias cancels in mean C(fake) - mean C(real).
            if "kernel" in variable.path:
                assert float(tf.reduce_max(tf.abs(grad))) > 0.0
            np.testing.assert_allclose(grad.numpy(), grad_2.numpy(),
                                       rtol=1e-4, atol=1e-6)
