"""MaskAAE (Mondal, Chowdhury, Jayendran, Singla, Asnani, Prathosh; UAI 2020).

Follows the authors' code (arnabkmondal/MaskAAE, MaskAAE_MNIST.py):

- mask: a non-negative vector m (initialised U(0, 5)); the mask is
  alpha = 1 - exp(-m) in [0, 1), applied to the codes (before the decoder
  and the critic) and to the prior samples N(0, I);
- auto-encoder update (RMSProp, 5 lr): reconstruction + variance penalty
  mean_{b,j} (z_bj - mean_b z_bj)^2 exp(-10 alpha_j^2), which collapses the
  codes of switched-off dimensions;
- WGAN-GP critic on masked codes vs masked prior samples (RMSProp, lr),
  n_critic updates; prior samples are the critic's high side;
- encoder ("generator") update -mean C(alpha z) (RMSProp, lr);
- mask update with its OWN objective and optimizer (RMSProp, 5 lr):
  1000 * reconstruction + (1 - (mean C(alpha z) - mean C(alpha n)))^2
  + p * sum_j |(1 - alpha_j) alpha_j|, the last a polarisation term whose
  weight p starts at 2 / m and doubles every 4 * T iterations (at most
  2048), T = 75 for m <= 20, else min(10000, floor(1125 m / 10));
- at iteration 5 T the auto-encoder and mask losses are scaled by 1/5 (the
  authors' "learning-rate decay"; under RMSProp this only acts until the
  running mean square catches up, as in their code);
- active dimensions: alpha_j >= 0.1.

Simplifications (documented in the README): the project's encoder,
decoder and critic networks instead of the authors' 4 x 1024 MLPs; our
per-image sum of squared errors instead of their per-pixel binary
cross-entropy. Their weights are relative to a per-pixel mean, so the
variance-penalty weight is multiplied and the mask's reconstruction weight
divided by the number of pixel values P = H * W * C.
"""

import numpy as np
import tensorflow as tf
from keras import constraints
from keras import ops

from flexae_tf.core import configurables
from flexae_tf.core import errors
from flexae_tf.models import autoencoder
from flexae_tf.models import losses
from flexae_tf.models import model_utils
from flexae_tf.models import networks


def schedule_interval(latent_dim):
    """The authors' T: iterations per step of the polarisation schedule."""
    if latent_dim <= 20:
        return 75
    return min(10000, int(np.floor(1125 * latent_dim / 10)))


def polarisation(alpha):
    """sum_j |(1 - alpha_j) alpha_j|: zero only at alpha_j in {0, 1}."""
    return ops.sum(ops.abs((1.0 - alpha) * alpha))


def mask_objective(recon_mean, code_scores, prior_scores, alpha,
                   polarisation_weight, reconstruction_weight=1000.0):
    """The mask's loss in the authors' per-pixel units.

    Args:
      recon_mean: per-pixel reconstruction error (a scalar).
      code_scores: critic scores of masked codes [b, 1].
      prior_scores: critic scores of masked prior samples [b, 1].
      alpha: the mask [m].
      polarisation_weight: p.
      reconstruction_weight: weight of recon_mean (1000 in their code).
    """
    gap = ops.mean(code_scores) - ops.mean(prior_scores)
    return (reconstruction_weight * recon_mean + ops.square(1.0 - gap)
            + polarisation_weight * polarisation(alpha))


def variance_penalty(codes, alpha):
    """mean (z - mean_b z)^2 exp(-10 alpha^2): shrink unmasked-off dims."""
    centred = codes - ops.mean(codes, axis=0, keepdims=True)
    return ops.mean(ops.square(centred) * ops.exp(-10.0 * ops.square(alpha)))


@configurables.keras_configurable(denylist=["image_shape", "name"])
class MaskAAE(autoencoder.AutoEncoderModel):
    """AAE with a learned latent mask; see the module docstring.

    One iteration reads 3 + critic_steps batches: auto-encoder, critic
    updates, encoder, mask (each a fresh batch, as the authors).
    """

    def __init__(self, image_shape, latent_dim=48, critic_steps=5,
                 gp_weight=10.0, variance_penalty_weight=100.0,
                 mask_reconstruction_weight=1000.0, learning_rate=1e-4,
                 max_polarisation_weight=2048.0, active_threshold=0.1,
                 schedule_scale=1.0, seed=0, name="mask_aae"):
        """Builds the networks and the mask.

        Args:
          image_shape: (H, W, C).
          latent_dim: m (their MNIST default: 48).
          critic_steps: critic updates per iteration.
          gp_weight: WGAN-GP weight.
          variance_penalty_weight: their 100, per pixel (times P here).
          mask_reconstruction_weight: their 1000, per pixel (over P here).
          learning_rate: lr; auto-encoder and mask use 5 lr.
          max_polarisation_weight: cap of the doubling schedule.
          active_threshold: alpha_j at or above it counts as active.
          schedule_scale: multiplies the authors' T, so that a shorter
            run still polarises the mask: the suites set their budget
            over the paper's 130k iterations (`budget.Budget`).
          seed: seed of the random stream and of the mask's init.
          name: model name.
        """
        super().__init__(image_shape, latent_dim, latent_dim, seed, name)
        self.critic_steps = critic_steps
        self.gp_weight = gp_weight
        self.pixels = float(np.prod(self.image_shape))
        self.variance_penalty_weight = variance_penalty_weight
        self.mask_reconstruction_weight = mask_reconstruction_weight
        self.learning_rate = learning_rate
        self.max_polarisation_weight = max_polarisation_weight
        self.active_threshold = active_threshold
        if schedule_scale <= 0:
            raise errors.UserError(
                f"MaskAAE.schedule_scale={schedule_scale}; need > 0.")
        self.interval = max(1, round(schedule_interval(latent_dim)
                                     * schedule_scale))
        self.encoder = networks.build_encoder(latent_dim)
        self.decoder = networks.build_decoder(self.image_shape)
        self.latent_critic = networks.LatentCritic()
        model_utils.build_networks(self)
        self.latent_critic(ops.zeros((1, latent_dim)))
        init = np.random.default_rng(seed).uniform(0.0, 5.0, latent_dim)
        self.mask_logits = self.add_weight(
            shape=(latent_dim,), name="mask_logits",
            initializer=lambda shape, dtype=None: ops.cast(init, dtype),
            constraint=constraints.NonNeg())
        self._init_trackers([
            "recon_loss", "variance_penalty", "latent_critic_loss",
            "latent_gp", "encoder_adversarial_loss", "mask_loss",
            "polarisation_weight", "active_dimensions"])

    @property
    def group_size(self):
        return 3 + self.critic_steps

    @property
    def alpha(self):
        """The mask 1 - exp(-m) in [0, 1)."""
        return 1.0 - ops.exp(-ops.convert_to_tensor(self.mask_logits))

    def active_dimensions(self):
        return ops.sum(ops.cast(self.alpha >= self.active_threshold, "int32"))

    def compile(self, jit_compile=False, **kwargs):
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        lr = self.learning_rate
        self.reconstruction_optimizer = model_utils.optimizer(
            "rmsprop", "reconstruction_optimizer",
            model_utils.autoencoder_variables(self), 5 * lr)
        self.latent_critic_optimizer = model_utils.optimizer(
            "rmsprop", "latent_critic_optimizer",
            self.latent_critic.trainable_variables, lr)
        self.encoder_adversarial_optimizer = model_utils.optimizer(
            "rmsprop", "encoder_adversarial_optimizer",
            self.encoder.trainable_variables, lr)
        self.mask_optimizer = model_utils.optimizer(
            "rmsprop", "mask_optimizer", [self.mask_logits], 5 * lr)

    # ----------------------------------------------------------- inference
    def encode(self, images):
        return self.encoder(images, training=False) * self.alpha

    def call(self, images, training=False):
        codes = self.encoder(images, training=training) * self.alpha
        return self.decoder(codes, training=training)

    def prior_codes(self, noise, training=False):
        del training
        return noise * self.alpha

    def budget_schedules(self):
        return {"MaskAAE T (p doubles every 4 T; AE and mask losses x 0.2 "
                "after 5 T)": self.interval}

    # ------------------------------------------------------------ training
    def _schedules(self):
        """(polarisation weight p, loss factor of the AE and mask losses)."""
        step = ops.cast(self.iteration, "float32")
        doublings = ops.floor(step / (4.0 * self.interval))
        p = ops.minimum(self.max_polarisation_weight,
                        2.0 / self.latent_dim * ops.power(2.0, doublings))
        decay = ops.where(step > 5.0 * self.interval, 0.2, 1.0)
        return p, decay

    def train_step(self, data):
        groups = data
        p, decay = self._schedules()
        logs = self._autoencoder_step(groups[0], decay)
        for k in range(self.critic_steps):
            logs |= self._critic_step(groups[1 + k])
        logs |= self._encoder_step(groups[1 + self.critic_steps])
        logs |= self._mask_step(groups[2 + self.critic_steps], p, decay)
        logs["polarisation_weight"] = p
        logs["active_dimensions"] = ops.cast(self.active_dimensions(),
                                             "float32")
        return self._update_trackers(logs)

    def _autoencoder_step(self, images, decay):
        variables = model_utils.autoencoder_variables(self)
        alpha = ops.stop_gradient(self.alpha)
        with tf.GradientTape() as tape:
            codes = self.encoder(images, training=True)
            recon = losses.reconstruction_loss(
                images, self.decoder(codes * alpha, training=True))
            penalty = variance_penalty(codes, alpha)
            total = decay * (recon + self.pixels
                             * self.variance_penalty_weight * penalty)
        self._apply(self.reconstruction_optimizer, total, tape, variables)
        return {"recon_loss": recon, "variance_penalty": penalty}

    def _masked_pair(self, images, training=True):
        """Masked codes and masked prior samples of one batch."""
        codes = self.encoder(images, training=training) * self.alpha
        noise = self.rng.normal(ops.shape(codes))
        return codes, self.prior_codes(noise)

    def _critic_step(self, images):
        codes, prior = self._masked_pair(images)
        # Prior samples are the high-scored side in the authors' code.
        loss, penalty = self._wgan_gp_step(
            self.latent_critic, self.latent_critic_optimizer,
            ops.stop_gradient(prior), ops.stop_gradient(codes),
            self.gp_weight)
        return {"latent_critic_loss": loss, "latent_gp": penalty}

    def _encoder_step(self, images):
        variables = self.encoder.trainable_variables
        alpha = ops.stop_gradient(self.alpha)
        with tf.GradientTape() as tape:
            loss = losses.generator_loss(self.latent_critic(
                self.encoder(images, training=True) * alpha, training=True))
        self._apply(self.encoder_adversarial_optimizer, loss, tape,
                    variables)
        return {"encoder_adversarial_loss": loss}

    def _mask_step(self, images, polarisation_weight, decay):
        with tf.GradientTape() as tape:
            codes, prior = self._masked_pair(images)
            recon = losses.reconstruction_loss(
                images, self.decoder(codes, training=True)) / self.pixels
            loss = mask_objective(
                recon, self.latent_critic(codes, training=True),
                self.latent_critic(prior, training=True), self.alpha,
                polarisation_weight, self.mask_reconstruction_weight)
            scaled = decay * loss
        self._apply(self.mask_optimizer, scaled, tape, [self.mask_logits])
        return {"mask_loss": loss}

    def trackables(self, inference_only=False):
        items = {"encoder": self.encoder, "decoder": self.decoder,
                 "mask_logits": self.mask_logits, "iteration": self.iteration}
        if inference_only:
            return items
        items.update(latent_critic=self.latent_critic, rng=self.rng)
        for role in ("reconstruction", "latent_critic",
                     "encoder_adversarial", "mask"):
            items[f"{role}_optimizer"] = getattr(self, f"{role}_optimizer")
        return items
