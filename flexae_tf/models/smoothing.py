"""FlexAE-SR's smoothing regulariser (Mondal et al. 2021, Sec. 3.3).

Decoded convex combinations of codes, x_inp = D(g E(x) + (1 - g) E(x'))
with g ~ U[0, 1] per example, are scored by a WGAN-GP image critic C_z
against real images, and the auto-encoder is trained to fool it. A mixin
of `flexae.FlexAE`, which owns the networks, optimizers and random stream.
"""

import tensorflow as tf
from keras import ops

from flexae_tf.models import losses


class SmoothingRegulariser:
    """The image critic's update and the smoothing update of E and D."""

    def _smoothed_images(self, codes, codes_2):
        """x_inp = D(g E(x) + (1 - g) E(x')), g ~ U[0, 1] per example."""
        mix = self.rng.uniform((ops.shape(codes)[0],))
        return self.decoder(losses.interpolate(codes, codes_2, mix),
                            training=True)

    def _image_critic_step(self, images, codes, codes_2):
        """C_z update: real images vs decoded code interpolations."""
        loss, penalty = self._wgan_gp_step(
            self.image_critic, self.image_critic_optimizer, images,
            self._smoothed_images(codes, codes_2), self.gp_weight)
        return {"image_critic_loss": loss, "image_gp": penalty,
                "image_wasserstein": -loss}

    def _smoothing_step(self, images, images_2):
        """Smoothing update of E and D: D(g E(x) + (1 - g) E(x')) fools C_z."""
        variables = (self.encoder.trainable_variables
                     + self.decoder.trainable_variables)
        with tf.GradientTape() as tape:
            fake = self._smoothed_images(self.encoder(images, training=True),
                                         self.encoder(images_2, training=True))
            loss = losses.generator_loss(self.image_critic(fake, training=True))
        self._apply(self.smoothing_optimizer, loss, tape, variables)
        return {"smoothing_loss": loss}
