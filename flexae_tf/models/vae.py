"""Gaussian VAE (Kingma & Welling, 2014) on the project's networks.

The classic reference row, and the base of FP-VAE (`fp_vae.py`).
"""

import tensorflow as tf
from keras import ops

from flexae_tf.core import configurables
from flexae_tf.models import autoencoder
from flexae_tf.models import losses
from flexae_tf.models import model_utils
from flexae_tf.models import networks


@configurables.keras_configurable(denylist=["image_shape", "name"])
class VAE(autoencoder.AutoEncoderModel):
    """Gaussian VAE on the project's encoder and decoder.

    The encoder's last layer outputs mean and log-variance. The loss is the
    per-image sum of squared errors plus kl_weight * KL(q(z|x) || N(0, I)):
    the negative ELBO of a Gaussian decoder with variance 1/2, in the same
    units as every other model's reconstruction loss.
    """

    def __init__(self, image_shape, latent_dim=32, kl_weight=1.0,
                 learning_rate=2e-4, seed=0, name="vae"):
        super().__init__(image_shape, latent_dim, latent_dim, seed, name)
        self.kl_weight = kl_weight
        self.learning_rate = learning_rate
        self.encoder = networks.build_encoder(2 * latent_dim)
        self.decoder = networks.build_decoder(self.image_shape)
        model_utils.build_networks(self)
        self._init_trackers(self._log_names())

    def _log_names(self):
        return ["recon_loss", "kl"]

    def compile(self, jit_compile=False, **kwargs):
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self.reconstruction_optimizer = model_utils.optimizer(
            "adam", "reconstruction_optimizer", self._trained_variables(),
            self.learning_rate)

    def _trained_variables(self):
        return model_utils.autoencoder_variables(self)

    def _posterior(self, images, training):
        stats = self.encoder(images, training=training)
        return stats[:, :self.latent_dim], stats[:, self.latent_dim:]

    def encode(self, images):
        """The posterior mean."""
        return self._posterior(images, False)[0]

    def call(self, images, training=False):
        return self.decoder(self._posterior(images, training)[0],
                            training=training)

    def _kl(self, mean, log_var, codes):
        """KL(q(z|x) || N(0, I)) in closed form, batch mean."""
        del codes  # Closed form: no sample needed.
        return 0.5 * ops.mean(ops.sum(
            ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=1))

    def _kl_weight(self):
        return self.kl_weight

    def train_step(self, data):
        images = data[0]
        variables = self._trained_variables()
        eps = self.rng.normal((ops.shape(images)[0], self.latent_dim))
        with tf.GradientTape() as tape:
            mean, log_var = self._posterior(images, True)
            codes = mean + ops.exp(0.5 * log_var) * eps
            recon = losses.reconstruction_loss(
                images, self.decoder(codes, training=True))
            kl = self._kl(mean, log_var, codes)
            weight = self._kl_weight()
            total = recon + weight * kl + self._prior_fit(codes)
        self._apply(self.reconstruction_optimizer, total, tape, variables)
        return self._update_trackers(self._logs(recon, kl, weight))

    def _prior_fit(self, codes):
        """Loss of a learned prior's own fit to the codes (0: N(0, I))."""
        del codes
        return 0.0

    def _logs(self, recon, kl, weight):
        del weight
        return {"recon_loss": recon, "kl": kl}

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
