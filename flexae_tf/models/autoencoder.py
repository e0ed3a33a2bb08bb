"""What every model in this project shares: the auto-encoder's user API.

FlexAE and the baselines differ in how they train and in their prior; the
ways to use a trained one (encode, decode, reconstruct, sample from noise,
interpolate), the iteration counter, the training random stream, the loss
trackers and the replica-aware gradient step are the same and live here.
Subclasses set `encoder`, `decoder`, implement `prior_codes(noise)`,
`train_step`, `compile` and `trackables`, and may override `group_size`.

`_apply` uses `tf.GradientTape` gradients: Keras must run on the TensorFlow
backend (`KERAS_BACKEND=tensorflow`, set by `import flexae_tf`).
"""

import keras
import tensorflow as tf
from keras import ops

from flexae_tf import precision
from flexae_tf.models import losses


class AutoEncoderModel(keras.Model):
    """Base of FlexAE and the baselines; see the module docstring."""

    def __init__(self, image_shape, latent_dim, noise_dim, seed=0,
                 name=None):
        super().__init__(name=name)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.noise_dim = noise_dim
        # Replica-aware and checkpointable: under a tf.distribute strategy
        # each replica draws its own stream (tf.random.Generator docs).
        self.rng = tf.random.Generator.from_seed(seed)
        self.iteration = keras.Variable(
            0, dtype="int64", trainable=False, name="iteration",
            aggregation="only_first_replica")

    def _init_trackers(self, log_names):
        self.log_names = list(log_names)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in log_names}

    @property
    def group_size(self):
        """Image batches consumed by one iteration."""
        return 1

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _update_trackers(self, logs):
        self.iteration.assign_add(1)
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result()
                for name, tracker in self.trackers.items()}

    def _apply(self, optimizer, loss, tape, variables):
        """Applies the gradient of the GLOBAL-batch mean of `loss`.

        `loss` is this replica's local-batch mean. Keras' TF optimizer sums
        gradients over replicas, so each replica contributes 1/replicas of
        its gradient (PITFALLS.md (a)).
        """
        # Scaled by the loss scale under mixed_float16 (precision.py).
        gradients = tape.gradient(
            loss, variables,
            output_gradients=precision.output_gradient(optimizer, loss))
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            gradients = [g / replicas for g in gradients]
        optimizer.apply(gradients, variables)

    # ----------------------------------------------------------- inference
    def encode(self, images):
        return self.encoder(images, training=False)

    def decode(self, codes):
        return self.decoder(codes, training=False)

    def reconstruct(self, images):
        return self.decode(self.encode(images))

    def call(self, images, training=False):
        return self.decoder(self.encoder(images, training=training),
                            training=training)

    def prior_codes(self, noise, training=False):
        """Codes of the model's prior for noise n ~ N(0, I) [b, noise_dim]."""
        raise NotImplementedError

    def generate(self, noise):
        """Sampler x = D(prior_codes(n)) for given noise [b, noise_dim]."""
        return self.decode(self.prior_codes(noise))

    def sample(self, num_samples, seed=None):
        """num_samples images; deterministic when `seed` is an int."""
        shape = (num_samples, self.noise_dim)
        noise = (tf.random.normal(shape) if seed is None else
                 tf.random.stateless_normal(shape, seed=[seed, 0]))
        return self.generate(noise)

    def interpolate(self, images_a, images_b, num_steps=8):
        """Decoded codes on the segment E(a) -> E(b).

        Returns:
          [batch, num_steps, *image_shape]; step 0 decodes E(a), the last
          E(b).
        """
        codes_a, codes_b = self.encode(images_a), self.encode(images_b)
        weights = ops.linspace(0.0, 1.0, num_steps)[None, :, None]
        codes = (1.0 - weights) * codes_a[:, None] + weights * codes_b[:, None]
        images = self.decode(ops.reshape(codes, (-1, self.latent_dim)))
        return ops.reshape(images, (-1, num_steps) + self.image_shape)

    def test_step(self, data):
        images = data
        loss = losses.reconstruction_loss(images, self.reconstruct(images))
        self.trackers["recon_loss"].update_state(loss)
        return {"recon_loss": self.trackers["recon_loss"].result()}
