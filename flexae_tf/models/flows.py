"""RealNVP affine-coupling flow (Dinh, Sohl-Dickstein, Bengio; ICLR 2017).

The learned prior of FP-VAE. Each coupling layer splits the vector in
two halves a, b (alternating which half is kept from layer to layer) and
maps b -> b * exp(s(a)) + t(a), with s, t from a small MLP of a. It is
invertible in closed form both ways and its log |det Jacobian| is
sum s(a). `FlowPrior.forward` maps Gaussian noise n to codes z = f(n) (the
sampler: noise in, no random ops); `FlowPrior.log_prob(z)` is
log N(f^{-1}(z); 0, I) + log |det d f^{-1} / d z|.
"""

import gin
import keras
import numpy as np
from keras import layers
from keras import ops

from flexae_tf.core import errors


@keras.saving.register_keras_serializable("flexae_tf")
class AffineCoupling(keras.layers.Layer):
    """One coupling layer on vectors of size `dim`; `flip` swaps the halves."""

    def __init__(self, dim, flip=False, hidden_units=64, num_hidden=2,
                 max_log_scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.flip = dim, flip
        self.hidden_units, self.num_hidden = hidden_units, num_hidden
        self.max_log_scale = max_log_scale
        half = dim // 2
        # flip=False keeps the first half and moves the second.
        self.kept = (dim - half) if flip else half
        self.moved = dim - self.kept
        dtype = kwargs.get("dtype")
        self.hidden = [layers.Dense(hidden_units, activation="relu",
                                    dtype=dtype)
                       for _ in range(num_hidden)]
        # Zero init: every layer starts as the identity.
        self.out = layers.Dense(2 * self.moved, kernel_initializer="zeros",
                                dtype=dtype)

    def _split(self, x):
        if self.flip:
            return x[:, self.moved:], x[:, :self.moved]
        return x[:, :self.kept], x[:, self.kept:]

    def _join(self, kept, moved):
        if self.flip:
            return ops.concatenate([moved, kept], axis=1)
        return ops.concatenate([kept, moved], axis=1)

    def _scale_shift(self, kept):
        h = kept
        for dense in self.hidden:
            h = dense(h)
        raw = self.out(h)
        # A bounded log-scale keeps exp(s) finite early in training.
        log_scale = self.max_log_scale * ops.tanh(
            raw[:, :self.moved] / self.max_log_scale)
        return log_scale, raw[:, self.moved:]

    def call(self, x):
        """(y, log |det dy/dx|) for x [b, dim]."""
        kept, moved = self._split(x)
        log_scale, shift = self._scale_shift(kept)
        y = self._join(kept, moved * ops.exp(log_scale) + shift)
        return y, ops.sum(log_scale, axis=1)

    def inverse(self, y):
        """(x, log |det dx/dy|) for y [b, dim]."""
        kept, moved = self._split(y)
        log_scale, shift = self._scale_shift(kept)
        x = self._join(kept, (moved - shift) * ops.exp(-log_scale))
        return x, -ops.sum(log_scale, axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim, flip=self.flip,
                      hidden_units=self.hidden_units,
                      num_hidden=self.num_hidden,
                      max_log_scale=self.max_log_scale)
        return config


@gin.configurable(denylist=["dim", "name"])
@keras.saving.register_keras_serializable("flexae_tf")
class FlowPrior(keras.Model):
    """A stack of `num_layers` coupling layers with alternating halves."""

    def __init__(self, dim, num_layers=4, hidden_units=64, num_hidden=2,
                 name="flow_prior", **kwargs):
        """Builds the flow.

        Args:
          dim: vector size (>= 2: a coupling needs two halves).
          num_layers: coupling layers (even: each half is moved equally).
          hidden_units: width of each layer's s, t network.
          num_hidden: hidden layers of each s, t network.
          name: model name.
          **kwargs: Keras Model arguments (e.g. dtype).
        """
        super().__init__(name=name, **kwargs)
        if dim < 2:
            raise errors.UserError(
                f"FlowPrior needs a latent size >= 2, got {dim}.")
        self.dim, self.num_layers = dim, num_layers
        self.hidden_units, self.num_hidden = hidden_units, num_hidden
        self.couplings = [
            AffineCoupling(dim, flip=bool(k % 2), hidden_units=hidden_units,
                           num_hidden=num_hidden, name=f"coupling_{k}",
                           dtype=kwargs.get("dtype"))
            for k in range(num_layers)]

    def call(self, noise):
        return self.forward(noise)[0]

    def forward(self, noise):
        """(z = f(n), log |det dz/dn|)."""
        x, log_det = noise, 0.0
        for coupling in self.couplings:
            x, delta = coupling(x)
            log_det = log_det + delta
        return x, log_det

    def inverse(self, codes):
        """(n = f^{-1}(z), log |det dn/dz|)."""
        x, log_det = codes, 0.0
        for coupling in reversed(self.couplings):
            x, delta = coupling.inverse(x)
            log_det = log_det + delta
        return x, log_det

    def log_prob(self, codes):
        """log p(z) [b] of the flow prior, in nats."""
        noise, log_det = self.inverse(codes)
        log_normal = -0.5 * ops.sum(ops.square(noise), axis=1) - (
            0.5 * self.dim * np.log(2.0 * np.pi))
        return log_normal + log_det

    def get_config(self):
        return {"dim": self.dim, "num_layers": self.num_layers,
                "hidden_units": self.hidden_units,
                "num_hidden": self.num_hidden, "name": self.name}
