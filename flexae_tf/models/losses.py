"""Pure loss functions of FlexAE-SR (Mondal et al., UAI 2021).

Sign convention (written down because it is often swapped, PITFALLS.md (h)):
both critics treat the *data side* as "real". The latent critic C_k scores
encoder codes z = E(x) high and prior samples z_hat = G(n) low; the image
critic C_z scores real images high and decoded interpolations low:

  critic loss       mean C(fake) - mean C(real)      (+ gp_weight * GP)
  Wasserstein est.  mean C(real) - mean C(fake)  = -(critic loss)
  P-GEN loss        -mean C_k(G(n))                  (pull z_hat up)
  encoder loss      +mean C_k(E(x))                  (push z down)
  smoothing loss    -mean C_z(D(z_inp))              (fool the image critic)

All functions return the mean over the *local* (per-replica) batch.
"""

import tensorflow as tf
from keras import ops


def reconstruction_loss(images, reconstructions):
    """Per-example sum of squared errors, averaged over the batch.

    Args:
      images: [batch, ...] targets (images [batch, H, W, C], or vectors).
      reconstructions: same shape.

    Returns:
      Scalar.
    """
    axes = tuple(range(1, len(images.shape)))
    per_image = ops.sum(ops.square(images - reconstructions), axis=axes)
    return ops.mean(per_image)


def critic_loss(real_scores, fake_scores):
    """WGAN critic loss, Eq. 6 / Eq. 9: mean C(fake) - mean C(real)."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def generator_loss(fake_scores):
    """What the side producing `fake` minimises: -mean C(fake)."""
    return -ops.mean(fake_scores)


def interpolate(a, b, weights):
    """Per-example convex combination w * a + (1 - w) * b.

    Args:
      a: [batch, ...] tensor.
      b: same shape as `a`.
      weights: [batch] in [0, 1], one weight per example (not per element:
        a per-element mix leaves the segment between the two points).
    """
    weights = ops.reshape(weights, (-1,) + (1,) * (len(a.shape) - 1))
    return weights * a + (1.0 - weights) * b


def gradient_penalty(critic, real, fake, alpha, epsilon=1e-12):
    """WGAN-GP term mean (||grad C(x_avg)||_2 - 1)^2 (arXiv:1704.00028).

    Args:
      critic: callable mapping [batch, ...] to [batch, 1].
      real: [batch, ...] codes or images; `fake` has the same shape.
      fake: see `real`.
      alpha: [batch] in [0, 1]; x_avg = alpha * real + (1 - alpha) * fake.
      epsilon: keeps the gradient of sqrt finite at a zero gradient.

    Returns:
      Scalar penalty.
    """
    mixed = interpolate(real, fake, alpha)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed, training=True)
    gradients = tape.gradient(scores, mixed)
    # Norm over every axis but the batch: [1] for codes, [1, 2, 3] for images.
    axes = tuple(range(1, len(mixed.shape)))
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=axes) + epsilon)
    return ops.mean(ops.square(norms - 1.0))


def wgan_gp_critic_losses(critic, real, fake, alpha):
    """(critic loss, gradient penalty) of one WGAN-GP critic update.

    One critic call scores real and fake together: every critic here is
    per-example (no batch statistics), so this equals two calls, with one
    pass over the weights and larger kernels (`tests/losses_test.py`
    checks losses and gradients against two calls).

    Args:
      critic: callable mapping [batch, ...] to [batch, 1].
      real: [batch, ...] the side scored high; `fake` has the same shape.
      fake: see `real`.
      alpha: [batch] in [0, 1], the gradient penalty's mixing weights.
    """
    batch = ops.shape(real)[0]
    scores = critic(ops.concatenate([real, fake], axis=0), training=True)
    return (critic_loss(scores[:batch], scores[batch:]),
            gradient_penalty(critic, real, fake, alpha))
