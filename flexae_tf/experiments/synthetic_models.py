"""FixedMixtureWAE: the synthetic_mog suite's WAE with a fixed GMM prior."""

import numpy as np
from keras import ops

from flexae_tf.experiments import synthetic_data
from flexae_tf.models import flexae
from flexae_tf.models import gmm


class FixedMixtureWAE(flexae.FlexAE):
    """WAE-GAN whose fixed prior is a Gaussian mixture, not N(0, I).

    The latent critic and every update are FlexAE's with prior='normal';
    only the prior samples differ: noise [b, latent_dim + 1] is mapped
    through `gmm.GaussianMixturePrior` with `num_components` equal-weight
    components N(mu_k, std^2 I), mu_k on a circle of `radius` in the first
    two latent dimensions (zero in the others).
    """

    def __init__(self, image_shape, latent_dim=2, num_components=4,
                 radius=2.0, std=0.5, seed=0, name="wae_gmm"):
        super().__init__(image_shape, latent_dim=latent_dim,
                         noise_dim=latent_dim, prior="normal",
                         smoothing=False, seed=seed, name=name)
        self.noise_dim = latent_dim + 1  # + 1 picks the component.
        means = np.zeros((num_components, latent_dim))
        means[:, :2] = synthetic_data.mixture_means(num_components, radius)
        self.mixture = gmm.GaussianMixturePrior(
            latent_dim, num_components, name="gaussian_mixture")
        self.mixture(ops.zeros((1, self.noise_dim)))  # Marks it built.
        self.mixture.assign_fit(
            np.full(num_components, 1.0 / num_components), means,
            np.tile(std**2 * np.eye(latent_dim), (num_components, 1, 1)))

    def prior_codes(self, noise, training=False):
        del training  # The mixture is fixed.
        return self.mixture(noise)

    def trackables(self, inference_only=False):
        items = super().trackables(inference_only)
        items["gaussian_mixture"] = self.mixture
        return items
