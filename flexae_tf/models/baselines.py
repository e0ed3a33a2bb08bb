"""Baselines trained by the same loop, on the same networks and data.

- `AutoEncoderGMM`: a deterministic auto-encoder (AE) or regularised one
  (RAE: L2 penalty on the codes, weight decay on the decoder), with a
  10-component full-covariance Gaussian mixture fitted to its training
  codes as the prior (Ghosh et al., ICLR 2020).
- `VAE`: Gaussian encoder, reparameterisation, the same decoder
  (Kingma & Welling, 2014), as the classic reference row.

WAE-GAN, FlexAE without smoothing, the lambda = 0 learned prior and MaskAAE
are configurations of `flexae.FlexAE` (see gin/*.gin).
"""

import numpy as np
import tensorflow as tf
from keras import ops

from flexae_tf.models import autoencoder
from flexae_tf import configurables
from flexae_tf.models import gmm
from flexae_tf.models import losses
from flexae_tf.models import networks
from flexae_tf.models import optimizers


def _build(model):
    codes = model.encoder(ops.zeros((1,) + model.image_shape))
    model.decoder(codes[:, :model.latent_dim])


@configurables.keras_configurable(denylist=["image_shape", "name"])
class AutoEncoderGMM(autoencoder.AutoEncoderModel):
    """AE (+ RAE regularisers) with an ex-post Gaussian mixture prior."""

    def __init__(self, image_shape, latent_dim=32, code_penalty_weight=0.0,
                 decoder_weight_decay=0.0, num_components=10,
                 num_fit_images=10000, seed=0, name="autoencoder_gmm"):
        """Builds the networks.

        Args:
          image_shape: (H, W, C).
          latent_dim: code size.
          code_penalty_weight: beta of RAE's beta * mean ||z||^2 / 2
            (0: plain AE).
          decoder_weight_decay: lambda of RAE's lambda * ||theta_D||^2.
          num_components: mixture components (10 in Ghosh et al.).
          num_fit_images: training images whose codes the mixture is fit to.
          seed: seed of the model's random stream.
          name: model name.
        """
        # One extra noise dimension picks the mixture component.
        super().__init__(image_shape, latent_dim, latent_dim + 1, seed, name)
        self.code_penalty_weight = code_penalty_weight
        self.decoder_weight_decay = decoder_weight_decay
        self.num_fit_images = num_fit_images
        self.encoder = networks.build_encoder(latent_dim)
        self.decoder = networks.build_decoder(self.image_shape)
        self.prior = gmm.GaussianMixturePrior(latent_dim, num_components,
                                              name="gaussian_mixture")
        _build(self)
        self._init_trackers(["recon_loss", "code_penalty", "decoder_l2"])

    def compile(self, jit_compile=False, **kwargs):
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self.reconstruction_optimizer = optimizers.build(
            "reconstruction", self.encoder.trainable_variables
            + self.decoder.trainable_variables)

    def train_step(self, data):
        images = data[0]
        variables = (self.encoder.trainable_variables
                     + self.decoder.trainable_variables)
        with tf.GradientTape() as tape:
            codes = self.encoder(images, training=True)
            recon = losses.reconstruction_loss(
                images, self.decoder(codes, training=True))
            code_penalty = 0.5 * ops.mean(ops.sum(ops.square(codes), axis=1))
            decoder_l2 = sum(ops.sum(ops.square(w))
                             for w in self.decoder.trainable_variables
                             if len(w.shape) > 1)
            total = (recon + self.code_penalty_weight * code_penalty
                     + self.decoder_weight_decay * decoder_l2)
        self._apply(self.reconstruction_optimizer, total, tape, variables)
        return self._update_trackers({"recon_loss": recon,
                                      "code_penalty": code_penalty,
                                      "decoder_l2": decoder_l2})

    def prior_codes(self, noise, training=False):
        del training  # The mixture has no training mode.
        return self.prior(noise)

    def fit_prior(self, batches):
        """Fits the mixture to the codes of `batches` (float images).

        The trainer passes the first `num_fit_images` training images.
        """
        codes = np.concatenate([self.encode(b).numpy() for b in batches])
        self.prior.assign_fit(*gmm.fit_gmm(codes, self.prior.num_components))

    def trackables(self, inference_only=False):
        items = {"encoder": self.encoder, "decoder": self.decoder,
                 "gaussian_mixture": self.prior, "iteration": self.iteration}
        if not inference_only:
            items.update(rng=self.rng, reconstruction_optimizer=(
                self.reconstruction_optimizer))
        return items


@configurables.keras_configurable(denylist=["image_shape", "name"])
class VAE(autoencoder.AutoEncoderModel):
    """Gaussian VAE on the project's encoder and decoder.

    The encoder's last layer outputs mean and log-variance. The loss is the
    per-image sum of squared errors plus kl_weight * KL(q(z|x) || N(0, I)):
    the negative ELBO of a Gaussian decoder with variance 1/2, in the same
    units as every other model's reconstruction loss.
    """

    def __init__(self, image_shape, latent_dim=32, kl_weight=1.0, seed=0,
                 name="vae"):
        super().__init__(image_shape, latent_dim, latent_dim, seed, name)
        self.kl_weight = kl_weight
        self.encoder = networks.build_encoder(2 * latent_dim)
        self.decoder = networks.build_decoder(self.image_shape)
        _build(self)
        self._init_trackers(["recon_loss", "kl"])

    def compile(self, jit_compile=False, **kwargs):
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self.reconstruction_optimizer = optimizers.build(
            "reconstruction", self.encoder.trainable_variables
            + self.decoder.trainable_variables)

    def _posterior(self, images, training):
        stats = self.encoder(images, training=training)
        return stats[:, :self.latent_dim], stats[:, self.latent_dim:]

    def encode(self, images):
        """The posterior mean."""
        return self._posterior(images, False)[0]

    def call(self, images, training=False):
        return self.decoder(self._posterior(images, training)[0],
                            training=training)

    def train_step(self, data):
        images = data[0]
        variables = (self.encoder.trainable_variables
                     + self.decoder.trainable_variables)
        eps = self.rng.normal((ops.shape(images)[0], self.latent_dim))
        with tf.GradientTape() as tape:
            mean, log_var = self._posterior(images, True)
            codes = mean + ops.exp(0.5 * log_var) * eps
            recon = losses.reconstruction_loss(
                images, self.decoder(codes, training=True))
            kl = 0.5 * ops.mean(ops.sum(
                ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=1))
            total = recon + self.kl_weight * kl
        self._apply(self.reconstruction_optimizer, total, tape, variables)
        return self._update_trackers({"recon_loss": recon, "kl": kl})

    def prior_codes(self, noise, training=False):
        del training
        return noise

    def trackables(self, inference_only=False):
        items = {"encoder": self.encoder, "decoder": self.decoder,
                 "iteration": self.iteration}
        if not inference_only:
            items.update(rng=self.rng, reconstruction_optimizer=(
                self.reconstruction_optimizer))
        return items

