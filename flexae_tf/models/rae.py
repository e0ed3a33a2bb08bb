"""AE / RAE + GMM (Ghosh et al., ICLR 2020).

Follows ParthaEth/Regularized_autoencoders-RAE-.

A deterministic auto-encoder (AE), or a regularised one (RAE-L2: an L2
penalty on the codes and L2 weight decay on the decoder), with a
10-component full-covariance Gaussian mixture fitted ex post to the codes
of the whole training set as the prior.

The authors' objective per image is
  sum_c mean_{h,w} (x - x')^2 + beta * mean_j z_j^2 + lambda * ||theta_D||^2
(per-pixel reconstruction error, `embedding_weight` beta, Keras `l2`
kernel regulariser lambda = `gen_reg_weight`). Ours sums the squared
error over the image, i.e. is H * W times theirs; multiplying their whole
objective by H * W keeps their balance:
  SSE + H * W * (beta * mean_j z_j^2 + lambda * ||theta_D||^2).
So `code_penalty_weight` and `decoder_weight_decay` take the authors'
numbers unchanged and the model applies the H * W factor.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from flexae_tf.core import configurables
from flexae_tf.models import autoencoder
from flexae_tf.models import gmm
from flexae_tf.models import losses
from flexae_tf.models import model_utils
from flexae_tf.models import networks


@configurables.keras_configurable(denylist=["image_shape", "name"])
class AutoEncoderGMM(autoencoder.AutoEncoderModel):
    """AE (+ RAE regularisers) with an ex-post Gaussian mixture prior."""

    def __init__(self, image_shape, latent_dim=32, code_penalty_weight=0.0,
                 decoder_weight_decay=0.0, num_components=10,
                 num_fit_images=None, learning_rate=2e-4, seed=0,
                 name="autoencoder_gmm"):
        """Builds the networks.

        Args:
          image_shape: (H, W, C).
          latent_dim: code size.
          code_penalty_weight: the authors' beta on mean_j z_j^2, in their
            per-pixel units (0: plain AE).
          decoder_weight_decay: the authors' lambda on ||theta_D||^2 (the
            decoder's kernels), in their per-pixel units.
          num_components: mixture components (10 in Ghosh et al.).
          num_fit_images: training images whose codes the mixture is fit
            to; None: the whole training set, as the authors.
          learning_rate: Adam step of the auto-encoder.
          seed: seed of the model's random stream.
          name: model name.
        """
        # One extra noise dimension picks the mixture component.
        super().__init__(image_shape, latent_dim, latent_dim + 1, seed, name)
        self.code_penalty_weight = code_penalty_weight
        self.decoder_weight_decay = decoder_weight_decay
        self.num_fit_images = num_fit_images
        self.learning_rate = learning_rate
        self.pixels = float(self.image_shape[0] * self.image_shape[1])
        self.encoder = networks.build_encoder(latent_dim)
        self.decoder = networks.build_decoder(self.image_shape)
        self.prior = gmm.GaussianMixturePrior(latent_dim, num_components,
                                              name="gaussian_mixture")
        model_utils.build_networks(self)
        self._init_trackers(["recon_loss", "code_penalty", "decoder_l2"])

    def compile(self, jit_compile=False, **kwargs):
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self.reconstruction_optimizer = model_utils.optimizer(
            "adam", "reconstruction_optimizer",
            model_utils.autoencoder_variables(self), self.learning_rate)

    def objective(self, images, training=True):
        """(total loss, its terms) of a batch; see the module docstring."""
        codes = self.encoder(images, training=training)
        recon = losses.reconstruction_loss(
            images, self.decoder(codes, training=training))
        code_penalty = ops.mean(ops.square(codes))
        decoder_l2 = sum(ops.sum(ops.square(w))
                         for w in self.decoder.trainable_variables
                         if len(w.shape) > 1)
        total = recon + self.pixels * (
            self.code_penalty_weight * code_penalty
            + self.decoder_weight_decay * decoder_l2)
        return total, {"recon_loss": recon, "code_penalty": code_penalty,
                       "decoder_l2": decoder_l2}

    def train_step(self, data):
        images = data[0]
        variables = model_utils.autoencoder_variables(self)
        with tf.GradientTape() as tape:
            total, logs = self.objective(images)
        self._apply(self.reconstruction_optimizer, total, tape, variables)
        return self._update_trackers(logs)

    def prior_codes(self, noise, training=False):
        del training  # The mixture has no training mode.
        return self.prior(noise)

    def fit_prior(self, batches):
        """Fits the mixture to the codes of `batches` (float images).

        The trainer passes the first `num_fit_images` training images
        (all of them by default).
        """
        codes = np.concatenate([self.encode(b).numpy() for b in batches])
        self.prior.assign_sklearn(
            gmm.fit_gmm(codes, self.prior.num_components))

    def trackables(self, inference_only=False):
        items = {"encoder": self.encoder, "decoder": self.decoder,
                 "gaussian_mixture": self.prior, "iteration": self.iteration}
        if not inference_only:
            items.update(rng=self.rng, reconstruction_optimizer=(
                self.reconstruction_optimizer))
        return items
