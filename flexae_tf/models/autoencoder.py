"""What every model in this project shares: the auto-encoder's user API.

FlexAE and the baselines differ in how they train and in their prior; the
ways to use a trained one (encode, decode, reconstruct, sample from noise,
interpolate), the iteration counter, the training random stream, the loss
trackers and the replica-aware gradient step are the same and live here.
Subclasses set `encoder`, `decoder`, implement `prior_codes(noise)`,
`train_step`, `compile` and `trackables`, and may override `group_size`.

`_apply` uses `tf.GradientTape` gradients: Keras must run on the TensorFlow
backend (`KERAS_BACKEND=tensorflow`, set by `import flexae_tf`).

Every subclass is a `.keras` artifact for free (`model.save("x.keras")`,
`keras.saving.load_model`): see `serializable` below.
"""

import functools
import inspect
import threading

import keras
import tensorflow as tf
from keras import ops

from flexae_tf.core import precision
from flexae_tf.models import interpolation
from flexae_tf.models import losses

# Key of get_config() holding the sub-networks' own configs.
NETWORKS_KEY = "networks"
# Sub-networks from_config() hands to the constructor being run (per thread).
_revived = threading.local()


def _recording(init):
    """`init`, recording the arguments of the outermost constructor call.

    Wrapped before gin decorates the class, so the recorded values are the
    ones gin injected: get_config() then needs no gin state (STYLE.md 2).
    """
    signature = inspect.signature(init)
    params = list(signature.parameters.values())

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if "_constructor_arguments" not in vars(self):  # Not a super() call.
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            del arguments[params[0].name]
            for param in params:
                if param.kind == param.VAR_KEYWORD:
                    arguments.update(arguments.pop(param.name))
                elif param.kind == param.VAR_POSITIONAL:
                    if arguments.pop(param.name):
                        raise TypeError(
                            f"{type(self).__name__}: *args cannot be "
                            "saved in a .keras config; use keywords.")
            # Bypasses Keras' attribute tracking: this is plain data.
            object.__setattr__(self, "_constructor_arguments", arguments)
            init(self, *args, **kwargs)
            # Subclasses build every network in the constructor; without
            # this, Keras warns on save that the model may have no weights.
            self.built = True
        else:
            init(self, *args, **kwargs)

    # Keras' Operation.__new__ reads the argspec without following
    # __wrapped__ (see configurables.py).
    __init__.__signature__ = signature
    return __init__


class AutoEncoderModel(keras.Model):
    """Base of FlexAE and the baselines; see the module docstring.

    Serialization, for every subclass without code of its own: each
    subclass is registered with Keras as `flexae_tf>ClassName`, and its
    constructor's arguments (after gin filled them in) are recorded, so
    `get_config()` holds every one. Networks built inside the constructor
    (`self.encoder = networks.build_encoder(...)`) take their widths from
    gin, not from the model's arguments, so `get_config()` also stores
    each sub-network's config, and `from_config()` hands the constructor
    those networks instead of the ones it would build. A model rebuilt
    this way never reads gin, so it loads after `gin.clear_config()` or
    under another run's config.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = _recording(cls.__init__)
        keras.saving.register_keras_serializable("flexae_tf")(cls)

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

    # ------------------------------------------------------- serialization
    def __setattr__(self, name, value):
        revived = getattr(_revived, "networks", None)
        if revived and name in revived and isinstance(
                value, keras.layers.Layer):
            value = revived.pop(name)  # The saved network, not a fresh one.
        super().__setattr__(name, value)

    def sub_networks(self):
        """{attribute: sub-network} of the layers this model holds."""
        return {name: value for name, value in vars(self).items()
                if not name.startswith("_")
                and isinstance(value, keras.layers.Layer)}

    def get_config(self):
        """Every constructor argument, plus each sub-network's config."""
        config = {name: keras.saving.serialize_keras_object(value)
                  for name, value in self._constructor_arguments.items()}
        config[NETWORKS_KEY] = {
            name: keras.saving.serialize_keras_object(network)
            for name, network in self.sub_networks().items()}
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        saved = config.pop(NETWORKS_KEY, {})
        arguments = {name: keras.saving.deserialize_keras_object(value)
                     for name, value in config.items()}
        _revived.networks = {
            name: keras.saving.deserialize_keras_object(value)
            for name, value in saved.items()}
        try:
            model = cls(**arguments)
            unused = sorted(_revived.networks)
        finally:
            _revived.networks = None
        if unused:
            raise ValueError(
                f"{cls.__name__} config has networks {unused} that its "
                "constructor did not build.")
        return model

    def __dir__(self):
        # Keras' .keras writer saves every saveable attribute dir() lists.
        # Optimizer slots (3x the weights) belong in the training
        # checkpoints, not in an artifact for inference.
        return [name for name in super().__dir__() if not isinstance(
            vars(self).get(name), keras.optimizers.Optimizer)]

    def get_compile_config(self):
        # compile() builds the optimizers from gin; a .keras artifact is
        # for inference (training state lives in the checkpoints), so
        # load_model must not try to recompile.
        return None

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

    def _wgan_gp_step(self, critic, optimizer, real, fake, gp_weight):
        """One WGAN-GP critic update: `real` scored high, `fake` low.

        real, fake: [batch, ...] inputs that carry no gradient here.
        Returns (critic loss, gradient penalty).
        """
        alpha = self.rng.uniform((ops.shape(real)[0],))
        with tf.GradientTape() as tape:
            loss, penalty = losses.wgan_gp_critic_losses(critic, real, fake,
                                                         alpha)
            total = loss + gp_weight * penalty
        self._apply(optimizer, total, tape, critic.trainable_variables)
        return loss, penalty

    # ----------------------------------------------------------- inference
    def budget_schedules(self):
        """{description: value} of the schedules that scale with a suite's
        budget (`schedule_scale`); reports state them."""
        return {}

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

    def interpolate(self, images_a, images_b, num_steps=8, method="linear"):
        """Decoded codes on the path E(a) -> E(b).

        Args:
          images_a: [batch, H, W, C].
          images_b: same shape.
          num_steps: points on the path, ends included.
          method: "linear" (the segment) or "slerp" (the great circle,
            `slerp`).

        Returns:
          [batch, num_steps, *image_shape]; step 0 decodes E(a), the last
          E(b).
        """
        codes = interpolation.path(self.encode(images_a),
                                   self.encode(images_b), num_steps, method)
        images = self.decode(ops.reshape(codes, (-1, self.latent_dim)))
        return ops.reshape(images, (-1, num_steps) + self.image_shape)

    def test_step(self, data):
        images = data
        loss = losses.reconstruction_loss(images, self.reconstruct(images))
        self.trackers["recon_loss"].update_state(loss)
        return {"recon_loss": self.trackers["recon_loss"].result()}
