"""Full-covariance Gaussian mixture: an ex-post latent prior.

Ghosh et al. (ICLR 2020, "From variational to deterministic
autoencoders") fit a 10-component full-covariance mixture to the codes of
a trained deterministic auto-encoder and sample it for generation. As in
their code, the fit is scikit-learn's `GaussianMixture` (full covariance,
k-means initialisation; `fit_gmm`); the fitted mixture lives in a Keras
layer (`GaussianMixturePrior`) whose weights are checkpointed and exported
with the model.

Sampling is a deterministic function of Gaussian noise, so the sampler
stays "noise in, image out" like every other model here (and in the TF
Serving / TFLite exports, which must hold no random ops): noise[:, :d]
gives the Gaussian draw and Phi(noise[:, d]) ~ U[0, 1] picks the
component.
"""

import keras
import numpy as np
from keras import ops
from sklearn import mixture


def fit_gmm(x, num_components=10, max_iterations=100, seed=0):
    """Fits scikit-learn's full-covariance GaussianMixture to x [n, d].

    Args:
      x: [n, d] codes (n >= num_components).
      num_components: k (10 in Ghosh et al.).
      max_iterations: EM iterations at most (scikit-learn's default).
      seed: seed of the k-means initialisation.

    Returns:
      The fitted `sklearn.mixture.GaussianMixture`.

    Raises:
      ValueError: fewer points than components.
    """
    x = np.asarray(x, np.float64)
    if x.shape[0] < num_components:
        raise ValueError(f"{x.shape[0]} points cannot fit {num_components} "
                         "mixture components.")
    return mixture.GaussianMixture(
        n_components=num_components, covariance_type="full",
        init_params="kmeans", max_iter=max_iterations,
        random_state=seed).fit(x)


@keras.saving.register_keras_serializable("flexae_tf")
class GaussianMixturePrior(keras.layers.Layer):
    """Maps noise [b, d + 1] ~ N(0, I) to mixture samples [b, d]."""

    def __init__(self, latent_dim, num_components=10, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.num_components = num_components
        k, d = num_components, latent_dim
        # Non-trainable: set by `assign_fit`, checkpointed with the model.
        # Until fitted: every component N(0, I).
        self.weights_ = self.add_weight(
            shape=(k,), initializer=keras.initializers.Constant(1.0 / k),
            trainable=False, name="mixture_weights")
        self.means = self.add_weight(shape=(k, d), initializer="zeros",
                                     trainable=False, name="means")
        self.cholesky = self.add_weight(
            shape=(k, d, d), trainable=False, name="cholesky",
            initializer=keras.initializers.Constant(
                np.tile(np.eye(d), (k, 1, 1))))
        # Weights exist from here on; an unbuilt layer would make
        # Model.fit trace the model on a data batch to build it.
        self.built = True

    def assign_fit(self, weights, means, covariances):
        """Sets weights [k], means [k, d] and covariances [k, d, d]."""
        self.weights_.assign(np.asarray(weights, np.float32))
        self.means.assign(np.asarray(means, np.float32))
        self.cholesky.assign(np.linalg.cholesky(covariances)
                             .astype(np.float32))

    def assign_sklearn(self, fitted):
        """Copies a fitted full-covariance sklearn GaussianMixture."""
        self.assign_fit(fitted.weights_, fitted.means_, fitted.covariances_)

    def call(self, noise):
        gaussian, pick = noise[:, :self.latent_dim], noise[:, self.latent_dim]
        uniform = 0.5 * (1.0 + ops.erf(pick / np.sqrt(2.0)))
        # Component index = how many cumulative weights lie below u; a sum
        # of comparisons (not searchsorted) keeps the graph TFLite-friendly.
        bounds = ops.cumsum(self.weights_)[:-1]
        index = ops.sum(ops.cast(uniform[:, None] > bounds[None], "int32"),
                        axis=1)
        means = ops.take(self.means, index, axis=0)
        cholesky = ops.take(self.cholesky, index, axis=0)
        return means + ops.einsum("bij,bj->bi", cholesky, gaussian)

    def log_density(self, codes):
        """log p(z) of codes [b, d] under the mixture (nats), shape [b]."""
        d = self.latent_dim
        centred = codes[:, None, :] - self.means[None]          # [b, k, d]
        # Solve L y = (z - mu) per component: |y|^2 is the Mahalanobis term.
        chol = ops.broadcast_to(self.cholesky[None],
                                (ops.shape(codes)[0],) + self.cholesky.shape)
        solved = ops.linalg.solve_triangular(chol, centred[..., None],
                                             lower=True)[..., 0]
        log_det = ops.sum(ops.log(ops.diagonal(
            self.cholesky, axis1=-2, axis2=-1)), axis=-1)        # [k]
        log_gauss = (-0.5 * ops.sum(ops.square(solved), axis=-1) - log_det
                     - 0.5 * d * np.log(2.0 * np.pi))
        return ops.logsumexp(log_gauss + ops.log(self.weights_), axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim,
                      num_components=self.num_components)
        return config
