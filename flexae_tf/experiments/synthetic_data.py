"""Synthetic data with a known latent structure (FlexAE paper, Figs. 2, 3).

Data are x = f(z): a true latent z is drawn from a simple distribution
(a standard normal in R^5, or a mixture of Gaussians in R^2) and pushed
through f, a fixed random MLP into R^128. Everything is a deterministic
function of one integer seed (numpy PCG64 streams, float64 arithmetic,
float32 output), so a suite's data never changes between runs or machines.

Separate streams (seeded with [seed, i]) draw f, the training latents and
the test latents, so changing the number of training points leaves f and
the test set unchanged.
"""

import dataclasses

import numpy as np

from flexae_tf.core import errors

_MLP_STREAM, _TRAIN_STREAM, _TEST_STREAM = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class SyntheticData:
    """A synthetic data set and the latents it was generated from.

    Attributes:
      train: float32 [num_train, data_dim] data x = f(z).
      test: float32 [num_test, data_dim].
      train_latents: float32 [num_train, latent_dim] true latents z.
      test_latents: float32 [num_test, latent_dim].
      description: one line saying how the data were made.
    """
    train: np.ndarray
    test: np.ndarray
    train_latents: np.ndarray
    test_latents: np.ndarray
    description: str


class RandomMLP:
    """Fixed random map f: R^d -> R^D, x = W3 tanh(W2 lrelu(W1 z + b1) + b2).

    Weights ~ N(0, gain / fan_in), so every layer keeps activations O(1);
    the leaky ReLU and tanh make f non-linear, and with widths >= d it is
    injective almost surely on most of the latent space, so the data keep
    the latent's structure (a d-dimensional manifold in R^D).
    """

    def __init__(self, input_dim, output_dim=128, hidden_units=(64, 128),
                 seed=0):
        rng = np.random.default_rng([seed, _MLP_STREAM])
        sizes = (input_dim,) + tuple(hidden_units) + (output_dim,)
        self.weights = [rng.normal(0.0, np.sqrt(2.0 / m), (m, n))
                        for m, n in zip(sizes[:-1], sizes[1:])]
        self.biases = [rng.normal(0.0, 0.1, n) for n in sizes[1:]]

    def __call__(self, latents):
        h = np.asarray(latents, np.float64)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i == 0:
                h = np.where(h > 0, h, 0.2 * h)  # leaky ReLU
            elif i < last:
                h = np.tanh(h)
        return h


def mixture_means(num_components, radius):
    """[k, 2] means evenly spaced on a circle (the first on the x axis)."""
    angles = 2.0 * np.pi * np.arange(num_components) / num_components
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _check_sizes(**sizes):
    for name, value in sizes.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise errors.UserError(f"{name}={value!r}: must be a positive "
                                   "integer.")


def _make(sample_latents, latent_dim, data_dim, num_train, num_test, seed,
          description):
    _check_sizes(num_train=num_train, num_test=num_test, data_dim=data_dim,
                 latent_dim=latent_dim)
    f = RandomMLP(latent_dim, data_dim, seed=seed)
    latents = [sample_latents(np.random.default_rng([seed, stream]), n)
               for stream, n in ((_TRAIN_STREAM, num_train),
                                 (_TEST_STREAM, num_test))]
    data = [f(z) for z in latents]
    # One fixed standardisation (from the training set) keeps every data
    # dimension O(1), so no single coordinate dominates the squared error.
    mean, std = data[0].mean(0), data[0].std(0) + 1e-8
    data = [((x - mean) / std).astype(np.float32) for x in data]
    return SyntheticData(data[0], data[1], latents[0].astype(np.float32),
                         latents[1].astype(np.float32), description)


def normal_data(latent_dim=5, data_dim=128, num_train=20000, num_test=5000,
                seed=0):
    """z ~ N(0, I_latent_dim), x = f(z) in R^data_dim (paper Fig. 2)."""
    return _make(
        lambda rng, n: rng.standard_normal((n, latent_dim)), latent_dim,
        data_dim, num_train, num_test, seed,
        f"z ~ N(0, I_{latent_dim}), x = f(z) in R^{data_dim} (f: fixed "
        f"random leaky-ReLU/tanh MLP, seed {seed}), standardised")


def mixture_data(num_components=8, radius=3.0, std=0.3, data_dim=128,
                 num_train=20000, num_test=5000, seed=0):
    """z ~ equal mixture of N(mu_k, std^2 I_2), mu_k on a circle (Fig. 3)."""
    _check_sizes(num_components=num_components)
    means = mixture_means(num_components, radius)

    def sample(rng, n):
        picks = rng.integers(num_components, size=n)
        return means[picks] + std * rng.standard_normal((n, 2))

    return _make(
        sample, 2, data_dim, num_train, num_test, seed,
        f"z ~ mixture of {num_components} N(mu_k, {std}^2 I_2), mu_k on a "
        f"circle of radius {radius}; x = f(z) in R^{data_dim} (f: fixed "
        f"random leaky-ReLU/tanh MLP, seed {seed}), standardised")
