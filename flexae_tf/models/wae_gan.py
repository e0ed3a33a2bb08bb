"""WAE-GAN as published (Tolstikhin, Bousquet, Gelly, Schoelkopf; ICLR 2018).

Algorithm 1 of the paper and `wae.py` of tolstikhin/wae:

- prior P_Z = N(0, sigma^2 I);
- a latent discriminator D (logits) trained with the standard (JS) GAN
  loss, prior samples labelled 1 ("true") and codes E(x) labelled 0:
  lambda * [BCE(D(z~P_Z), 1) + BCE(D(E(x)), 0)];
- the encoder and decoder minimise, in ONE optimizer,
  c(x, D(E(x))) + lambda * BCE(D(E(x)), 1), the non-saturating form of
  -lambda * log D(E(x)) the authors' code uses.

Our reconstruction cost is the per-image sum of squared errors. The
authors' `l2sq` cost is 0.05 * that sum, so their lambda = 1 (the paper's
WAE-GAN setting) is lambda = 1 / 0.05 = 20 on our scale; the sheet
gin/wae_gan.gin spells this out.

The FlexAE-style variant (WGAN-GP critic, the encoder pulled by its own
small-step optimizer) is `FlexAE(prior='normal')`, gin/wae_wgan_gp.gin.
"""

import tensorflow as tf
from keras import ops

from flexae_tf.core import configurables
from flexae_tf.core import errors
from flexae_tf.models import autoencoder
from flexae_tf.models import losses
from flexae_tf.models import model_utils
from flexae_tf.models import networks


def _bce_with_logits(logits, label):
    """mean BCE(sigmoid(logits), label) for a constant label in {0, 1}."""
    # softplus(-l) = -log sigmoid(l); softplus(l) = -log(1 - sigmoid(l)).
    return ops.mean(ops.softplus(-logits if label else logits))


def discriminator_loss(prior_logits, code_logits):
    """JS-GAN loss of the latent discriminator (before lambda).

    Prior samples are "true" (label 1), encoder codes "fake" (label 0):
    -mean log D(z_prior) - mean log(1 - D(E(x))), D = sigmoid(logits).
    """
    return (_bce_with_logits(prior_logits, 1)
            + _bce_with_logits(code_logits, 0))


def encoder_adversarial_loss(code_logits):
    """Non-saturating term the encoder minimises: -mean log D(E(x))."""
    return _bce_with_logits(code_logits, 1)


@configurables.keras_configurable(denylist=["image_shape", "name"])
class WAEGAN(autoencoder.AutoEncoderModel):
    """WAE-GAN: deterministic encoder, N(0, sigma^2 I) prior, JS latent GAN.

    One iteration reads one batch: first the auto-encoder update, then
    the discriminator update on the same batch (the order of the
    authors' training loop).
    """

    def __init__(self, image_shape, latent_dim=8, prior_sigma=1.0,
                 adversarial_weight=20.0, learning_rate=1e-3,
                 discriminator_learning_rate=5e-4, beta_1=0.5, seed=0,
                 name="wae_gan"):
        """Builds the networks.

        Args:
          image_shape: (H, W, C).
          latent_dim: code size (the authors' MNIST setting is 8).
          prior_sigma: sigma of the prior N(0, sigma^2 I) (`pz_scale`).
          adversarial_weight: lambda, on our per-image-sum loss (see the
            module docstring for the rescaling).
          learning_rate: Adam step of the encoder + decoder update.
          discriminator_learning_rate: Adam step of the discriminator
            (the authors' `lr_adv`).
          beta_1: Adam beta_1 of both optimizers (`adam_beta1`).
          seed: seed of the training random stream.
          name: model name.
        """
        super().__init__(image_shape, latent_dim, latent_dim, seed, name)
        if prior_sigma <= 0:
            raise errors.UserError(
                f"WAEGAN.prior_sigma={prior_sigma}; need > 0.")
        self.prior_sigma = float(prior_sigma)
        self.adversarial_weight = float(adversarial_weight)
        self.learning_rate = learning_rate
        self.discriminator_learning_rate = discriminator_learning_rate
        self.beta_1 = beta_1
        self.encoder = networks.build_encoder(latent_dim)
        self.decoder = networks.build_decoder(self.image_shape)
        self.discriminator = networks.LatentCritic(
            name="latent_discriminator")
        model_utils.build_networks(self)
        self.discriminator(ops.zeros((1, latent_dim)))
        self._init_trackers(["recon_loss", "encoder_adversarial_loss",
                             "discriminator_loss", "discriminator_accuracy"])

    def compile(self, jit_compile=False, **kwargs):
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self.reconstruction_optimizer = model_utils.optimizer(
            "adam", "reconstruction_optimizer",
            model_utils.autoencoder_variables(self), self.learning_rate,
            beta_1=self.beta_1)
        self.discriminator_optimizer = model_utils.optimizer(
            "adam", "discriminator_optimizer",
            self.discriminator.trainable_variables,
            self.discriminator_learning_rate, beta_1=self.beta_1)

    def prior_codes(self, noise, training=False):
        del training
        return self.prior_sigma * noise

    def train_step(self, data):
        images = data[0]
        variables = model_utils.autoencoder_variables(self)
        with tf.GradientTape() as tape:
            codes = self.encoder(images, training=True)
            recon = losses.reconstruction_loss(
                images, self.decoder(codes, training=True))
            adversarial = encoder_adversarial_loss(
                self.discriminator(codes, training=True))
            total = recon + self.adversarial_weight * adversarial
        self._apply(self.reconstruction_optimizer, total, tape, variables)

        codes = ops.stop_gradient(self.encoder(images, training=True))
        prior = self.prior_codes(self.rng.normal(ops.shape(codes)))
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            prior_logits = self.discriminator(prior, training=True)
            code_logits = self.discriminator(codes, training=True)
            loss = discriminator_loss(prior_logits, code_logits)
            weighted = self.adversarial_weight * loss
        self._apply(self.discriminator_optimizer, weighted, tape, variables)
        accuracy = 0.5 * (
            ops.mean(ops.cast(prior_logits > 0, "float32"))
            + ops.mean(ops.cast(code_logits < 0, "float32")))
        return self._update_trackers({
            "recon_loss": recon, "encoder_adversarial_loss": adversarial,
            "discriminator_loss": loss, "discriminator_accuracy": accuracy})

    def trackables(self, inference_only=False):
        items = {"encoder": self.encoder, "decoder": self.decoder,
                 "iteration": self.iteration}
        if not inference_only:
            items.update(
                latent_discriminator=self.discriminator, rng=self.rng,
                reconstruction_optimizer=self.reconstruction_optimizer,
                discriminator_optimizer=self.discriminator_optimizer)
        return items
