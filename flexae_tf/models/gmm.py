"""Full-covariance Gaussian mixture: an ex-post latent prior.

Ghosh et al. (ICLR 2020, "From variational to deterministic
autoencoders") fit a 10-component full-covariance mixture to the codes of
a trained deterministic auto-encoder and sample it for generation. The fit
is plain EM in float64 numpy (`fit_gmm`); the fitted mixture lives in a
Keras layer (`GaussianMixturePrior`) whose weights are checkpointed and
exported with the model.

Sampling is a deterministic function of Gaussian noise, so the sampler
stays "noise in, image out" like every other model here (and in the TF
Serving / TFLite exports): noise[:, :d] gives the Gaussian draw and
Phi(noise[:, d]) ~ U[0, 1] picks the component.
"""

import keras
import numpy as np
from keras import ops


def _log_gaussians(x, means, covariances):
    """[n, k] log N(x_i | mean_k, cov_k)."""
    d = x.shape[1]
    out = np.empty((x.shape[0], means.shape[0]))
    for k, (mean, cov) in enumerate(zip(means, covariances)):
        chol = np.linalg.cholesky(cov)
        solved = np.linalg.solve(chol, (x - mean).T)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        out[:, k] = -0.5 * (np.sum(solved**2, axis=0) + log_det
                            + d * np.log(2.0 * np.pi))
    return out


def fit_gmm(x, num_components=10, iterations=200, tolerance=1e-6,
            regularization=1e-6, seed=0):
    """EM for a full-covariance Gaussian mixture.

    Args:
      x: [n, d] data (n >= num_components).
      num_components: k.
      iterations: maximum EM iterations.
      tolerance: stop when the mean log-likelihood improves less.
      regularization: added to covariance diagonals (keeps them SPD).
      seed: initialisation (k-means++ style seeding of the means).

    Returns:
      (weights [k], means [k, d], covariances [k, d, d]), float64.
    """
    x = np.asarray(x, np.float64)
    n, d = x.shape
    if n < num_components:
        raise ValueError(f"{n} points cannot fit {num_components} "
                         "mixture components.")
    rng = np.random.default_rng(seed)
    means = [x[rng.integers(n)]]
    for _ in range(1, num_components):
        distance = np.min([np.sum((x - m)**2, axis=1) for m in means], 0)
        means.append(x[rng.choice(n, p=distance / distance.sum())])
    means = np.array(means)
    covariances = np.tile(np.cov(x.T).reshape(d, d) + regularization
                          * np.eye(d), (num_components, 1, 1))
    weights = np.full(num_components, 1.0 / num_components)
    previous = -np.inf
    for _ in range(iterations):
        log_p = _log_gaussians(x, means, covariances) + np.log(weights)
        norm = np.logaddexp.reduce(log_p, axis=1, keepdims=True)
        resp = np.exp(log_p - norm)                      # E step
        counts = resp.sum(axis=0) + 1e-12                # M step
        weights = counts / n
        means = resp.T @ x / counts[:, None]
        for k in range(num_components):
            centred = x - means[k]
            covariances[k] = ((resp[:, k, None] * centred).T @ centred
                              / counts[k] + regularization * np.eye(d))
        likelihood = norm.mean()
        if likelihood - previous < tolerance:
            break
        previous = likelihood
    return weights, means, covariances


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

    def assign_fit(self, weights, means, covariances):
        self.weights_.assign(weights.astype(np.float32))
        self.means.assign(means.astype(np.float32))
        self.cholesky.assign(np.linalg.cholesky(covariances)
                             .astype(np.float32))

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

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim,
                      num_components=self.num_components)
        return config
