"""FlexAE and FlexAE-SR (Mondal, Asnani, Singla, Prathosh; UAI 2021).

A deterministic auto-encoder whose latent prior is learned: a prior
generator (P-GEN) G maps Gaussian noise to codes, and a WGAN-GP latent
critic estimates the Wasserstein distance between encoded codes and G's
samples. FlexAE-SR adds a smoothing regulariser: decoded convex
combinations of codes must fool a WGAN-GP image critic.

`train_step` uses `tf.GradientTape`, so this model needs the TensorFlow
backend of Keras (`KERAS_BACKEND=tensorflow`, set by `import flexae_tf`).
"""

import contextlib

import tensorflow as tf
from keras import ops

from flexae_tf.models import autoencoder
from flexae_tf.models import batch_norm
from flexae_tf.core import configurables
from flexae_tf.core import errors
from flexae_tf.models import losses
from flexae_tf.models import networks
from flexae_tf.models import optimizers
from flexae_tf.models import smoothing

PRIORS = ("learned", "normal")
# How lambda acts on the encoder (see FlexAE.__init__).
ENCODER_ADVERSARIAL_MODES = ("separate", "joint")
# Which training passes update the BN moving statistics (see __init__).
BN_STATISTICS = ("reconstruction", "all")


@configurables.keras_configurable(denylist=["image_shape", "name"])
class FlexAE(smoothing.SmoothingRegulariser, autoencoder.AutoEncoderModel):
    """Auto-encoder, prior generator and the two critics, trained together.

    One `train_step` is one iteration of the authors' algorithm; it reads
    a [1 + 2 * critic_steps, batch, H, W, C] group of image batches: the
    first for the reconstruction update, then `critic_steps` batches x and
    `critic_steps` batches x' for the critic updates (see `group_size`).
    """

    def __init__(self, image_shape, latent_dim=32, noise_dim=None,
                 prior="learned", smoothing=True, critic_steps=5,
                 gp_weight=10.0, encoder_adversarial_weight=1.0,
                 encoder_adversarial_mode="separate",
                 bn_statistics="all", seed=0,
                 name="flexae"):
        """Builds the networks (weights included) and the random stream.

        Args:
          image_shape: (H, W, C) of the data.
          latent_dim: m, the code size.
          noise_dim: m', the P-GEN input size; default m.
          prior: "learned" (P-GEN, FlexAE) or "normal" (fixed N(0, I):
            "WAE (WGAN-GP critic)", gin/wae_wgan_gp.gin).
          smoothing: FlexAE-SR's image critic and smoothing update.
          critic_steps: n_critic, critic updates per iteration.
          gp_weight: WGAN-GP weight for both critics.
          encoder_adversarial_weight: lambda >= 0; 0 never pushes the
            encoder toward the prior (only the prior learns to match the
            codes).
          encoder_adversarial_mode: how lambda acts. "separate" (the
            authors' algorithm): the encoder's adversarial loss mean
            C_k(E(x)) has its own Adam update, whose learning rate lambda
            scales (Adam ignores a loss scale, so weighting the loss would
            make every lambda > 0 act like 1). "joint" (WAE / AAE, the
            learned-priors paper's beta): lambda * mean C_k(E(x)) is added
            to the reconstruction loss and shares its Adam update.
          bn_statistics: which training-mode passes of E and D update the
            BN moving statistics that every evaluation and sample uses.
            "all" (the authors' graph, the default): every pass, including
            the critic, smoothing and encoder updates; then 6 of the 7
            decoder passes per iteration (with smoothing) see interpolated
            codes, whose per-dimension variance is about 2/3 of E(x)'s.
            "reconstruction": only the reconstruction update's E(x) and
            D(E(x)). It won at 1,000 iterations but not at the protocol's
            5,000 (`bn_statistics` suite, docs/algorithm.md), so the
            authors' policy is the default. Every pass still
            normalises with its own batch statistics, so the weights are
            the same under both; only the moving statistics differ.
          seed: seed of the training random stream (noise, g, alpha).
          name: model name.
        """
        noise_dim = latent_dim if noise_dim is None else noise_dim
        super().__init__(image_shape, latent_dim, noise_dim, seed, name)
        errors.check_choice("FlexAE.prior", prior, PRIORS)
        if prior == "normal" and noise_dim != latent_dim:
            raise errors.UserError(
                "FlexAE.prior='normal' samples codes directly: noise_dim "
                "must equal latent_dim.")
        errors.check_choice("FlexAE.encoder_adversarial_mode",
                            encoder_adversarial_mode,
                            ENCODER_ADVERSARIAL_MODES)
        errors.check_choice("FlexAE.bn_statistics", bn_statistics,
                            BN_STATISTICS)
        if encoder_adversarial_weight < 0:
            raise errors.UserError(
                f"FlexAE.encoder_adversarial_weight="
                f"{encoder_adversarial_weight}; need >= 0.")
        if critic_steps < 1:
            raise errors.UserError(
                f"FlexAE.critic_steps={critic_steps}; need >= 1.")
        self.prior = prior
        self.smoothing = smoothing
        self.critic_steps = critic_steps
        self.gp_weight = gp_weight
        self.encoder_adversarial_weight = float(encoder_adversarial_weight)
        self.encoder_adversarial_mode = encoder_adversarial_mode
        self.bn_statistics = bn_statistics

        self.encoder = networks.build_encoder(latent_dim)
        self.decoder = networks.build_decoder(self.image_shape)
        self.latent_critic = networks.LatentCritic()
        self.prior_generator = (networks.PriorGenerator(latent_dim)
                                if prior == "learned" else None)
        self.image_critic = networks.ImageCritic() if smoothing else None
        self._build_networks()
        self._init_trackers(self._log_names())

    @property
    def group_size(self):
        """Image batches consumed by one iteration."""
        return 1 + 2 * self.critic_steps

    def _build_networks(self):
        images = ops.zeros((1,) + self.image_shape)
        decoded = self.decoder(self.encoder(images))
        self.latent_critic(ops.zeros((1, self.latent_dim)))
        if self.prior_generator is not None:
            self.prior_generator(ops.zeros((1, self.noise_dim)))
        if self.image_critic is not None:
            self.image_critic(decoded)

    def _log_names(self):
        names = ["recon_loss", "latent_critic_loss", "latent_gp",
                 "latent_wasserstein", "encoder_adversarial_loss"]
        if self.prior_generator is not None:
            names.append("prior_loss")
        if self.smoothing:
            names += ["image_critic_loss", "image_gp", "image_wasserstein",
                      "smoothing_loss"]
        return names

    def compile(self, jit_compile=False, **kwargs):
        """Builds one optimizer per update on its own variables.

        Call inside the distribution strategy's scope, before training.
        """
        # optimizer=None: no phantom default optimizer for `fit` to build.
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        autoencoder = (self.encoder.trainable_variables
                       + self.decoder.trainable_variables)
        self.reconstruction_optimizer = optimizers.build(
            "reconstruction", autoencoder)
        if self.encoder_adversarial_mode == "separate":
            # lambda scales this update's step, not its (Adam-invariant)
            # loss; with lambda = 0 the update never runs.
            self.encoder_adversarial_optimizer = optimizers.build(
                "encoder_adversarial", self.encoder.trainable_variables,
                learning_rate_scale=self.encoder_adversarial_weight)
        self.latent_critic_optimizer = optimizers.build(
            "latent_critic", self.latent_critic.trainable_variables)
        if self.prior_generator is not None:
            self.prior_generator_optimizer = optimizers.build(
                "prior_generator", self.prior_generator.trainable_variables)
        if self.smoothing:
            self.smoothing_optimizer = optimizers.build(
                "smoothing", autoencoder)
            self.image_critic_optimizer = optimizers.build(
                "image_critic", self.image_critic.trainable_variables)

    def trackables(self, inference_only=False):
        """Named parts of a checkpoint; stable names keep old ones loadable.

        inference_only: just what sampling, encoding and decoding need.
        """
        items = {"encoder": self.encoder, "decoder": self.decoder,
                 "iteration": self.iteration}
        if self.prior_generator is not None:
            items["prior_generator"] = self.prior_generator
        if inference_only:
            return items
        items.update(latent_critic=self.latent_critic, rng=self.rng)
        if self.image_critic is not None:
            items["image_critic"] = self.image_critic
        for role in optimizers.ROLES:
            if hasattr(self, f"{role}_optimizer"):
                items[f"{role}_optimizer"] = getattr(self, f"{role}_optimizer")
        return items

    # ----------------------------------------------------------- inference
    def prior_codes(self, noise, training=False):
        """z_hat = G(n) for the learned prior, n itself for N(0, I)."""
        if self.prior_generator is not None:
            return self.prior_generator(noise, training=training)
        return noise

    # ------------------------------------------------------------ training
    def _other_passes(self):
        """Context of every update but the reconstruction one."""
        if self.bn_statistics == "reconstruction":
            return batch_norm.frozen_moving_statistics(self.encoder,
                                                     self.decoder)
        return contextlib.nullcontext()

    def train_step(self, data):
        """One iteration, in the authors' order (see the class docstring).

        The generator-side updates use the last critic step's images and
        noise, as the authors' loop feeds them the same batch.
        """
        groups = data
        logs = self._reconstruction_step(groups[0])
        with self._other_passes():
            for k in range(self.critic_steps):
                images = groups[1 + k]
                images_2 = groups[1 + self.critic_steps + k]
                noise = self.rng.normal((ops.shape(images)[0],
                                         self.noise_dim))
                logs |= self._critic_updates(
                    images, noise, self.encoder(images, training=True),
                    self.encoder(images_2, training=True)
                    if self.smoothing else None)
            if self.smoothing:
                logs |= self._smoothing_step(images, images_2)
            if self.prior_generator is not None:
                logs |= self._prior_generator_step(noise)
            if self.encoder_adversarial_mode == "separate":
                logs |= self._encoder_adversarial_step(images)
        return self._update_trackers(logs)

    def _critic_updates(self, images, noise, codes, codes_2):
        """Both critics' updates of one critic step; they share E(x)."""
        logs = self._latent_critic_step(codes, noise)
        if self.smoothing:
            logs |= self._image_critic_step(images, codes, codes_2)
        return logs

    def _reconstruction_step(self, images):
        """Reconstruction update of E and D; in "joint" mode it also
        carries lambda * mean C_k(E(x)), the encoder's adversarial term."""
        variables = (self.encoder.trainable_variables
                     + self.decoder.trainable_variables)
        joint = self.encoder_adversarial_mode == "joint"
        logs = {}
        with tf.GradientTape() as tape:
            codes = self.encoder(images, training=True)
            loss = losses.reconstruction_loss(
                images, self.decoder(codes, training=True))
            total = loss
            if joint:
                adversarial = -losses.generator_loss(
                    self.latent_critic(codes, training=True))
                total = total + self.encoder_adversarial_weight * adversarial
                logs["encoder_adversarial_loss"] = adversarial
        self._apply(self.reconstruction_optimizer, total, tape, variables)
        logs["recon_loss"] = loss
        return logs

    def _latent_critic_step(self, codes, noise):
        """C_k update: codes E(x) [b, m] are real, prior samples fake.

        noise: [b, noise_dim] P-GEN input of the fake side.
        """
        loss, penalty = self._wgan_gp_step(
            self.latent_critic, self.latent_critic_optimizer, codes,
            self.prior_codes(noise, training=True), self.gp_weight)
        return {"latent_critic_loss": loss, "latent_gp": penalty,
                "latent_wasserstein": -loss}

    def _prior_generator_step(self, noise):
        """P-GEN update on noise [b, noise_dim] (the last critic step's)."""
        variables = self.prior_generator.trainable_variables
        with tf.GradientTape() as tape:
            loss = losses.generator_loss(
                self.latent_critic(self.prior_codes(noise, training=True),
                                   training=True))
        self._apply(self.prior_generator_optimizer, loss, tape, variables)
        return {"prior_loss": loss}

    def _encoder_adversarial_step(self, images):
        """"separate" mode's encoder update; lambda is in its learning rate
        (set in `compile`), so the loss here is unweighted."""
        variables = self.encoder.trainable_variables
        with tf.GradientTape() as tape:
            # The encoder is the "real" side: it lowers C_k(E(x)).
            loss = -losses.generator_loss(
                self.latent_critic(self.encoder(images, training=True),
                                   training=True))
        if self.encoder_adversarial_weight:
            self._apply(self.encoder_adversarial_optimizer, loss, tape,
                        variables)
        return {"encoder_adversarial_loss": loss}
