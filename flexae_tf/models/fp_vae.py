"""FP-VAE: a VAE whose prior is a normalizing flow.

"Empirical observations pertaining to learned priors for deep latent
variable models" (Sec. 3 - 4.1): the prior p(z) is a RealNVP flow of
N(0, I) (`flows.FlowPrior`), learned jointly with the encoder and decoder
on the negative ELBO, whose KL term is weighted by beta and annealed
linearly from 0 to beta over the first `warmup_iterations`.

beta weights what the KL asks of the encoder (and decoder); the flow itself
always fits the codes by maximum likelihood, -log p(sg(z)) with weight 1,
so at beta = 0 the model is an unregularised auto-encoder whose learned
prior still follows its codes (the learned-priors paper's limit), not one
whose prior never trains. The flow also sees beta * KL's gradient, a
rescaling of the same maximum-likelihood direction.

With a flow prior the KL has no closed form; it is estimated with the
reparameterised sample z of each image (one sample, as usual):
  KL ~ log q(z|x) - log p(z).
Reconstruction is the per-image sum of squared errors like every other
model here.
"""

from keras import ops
import numpy as np

from flexae_tf.core import configurables
from flexae_tf.models import flows
from flexae_tf.models import model_utils
from flexae_tf.models import vae

# The learned-priors paper anneals the KL weight over its first 50k
# iterations (budget-scaled by the suites, `schedule_scale`).
PAPER_WARMUP_ITERATIONS = 50000


@configurables.keras_configurable(denylist=["image_shape", "name"])
class FPVAE(vae.VAE):
    """VAE + flow prior, beta-weighted KL with linear warm-up."""

    def __init__(self, image_shape, latent_dim=8, beta=1.0,
                 warmup_iterations=PAPER_WARMUP_ITERATIONS, learning_rate=2e-4,
                 schedule_scale=1.0, seed=0, name="fp_vae"):
        """Builds the networks and the flow.

        Args:
          image_shape: (H, W, C).
          latent_dim: code size (8 on MNIST in the paper).
          beta: final KL weight (0: an unregularised auto-encoder whose
            flow prior still fits its codes; the paper's beta study
            sweeps it).
          warmup_iterations: beta grows linearly from 0 over these
            iterations (0: beta from the start).
          learning_rate: Adam step (encoder, decoder and flow together).
          schedule_scale: multiplies warmup_iterations (the suites set
            their budget over the paper's 130k iterations).
          seed: seed of the training random stream.
          name: model name.
        """
        self.beta = float(beta)
        self.warmup_iterations = round(warmup_iterations * schedule_scale)
        super().__init__(image_shape, latent_dim=latent_dim, kl_weight=beta,
                         learning_rate=learning_rate, seed=seed, name=name)
        self.flow = flows.FlowPrior(latent_dim)
        self.flow(ops.zeros((1, latent_dim)))
        self.flow.inverse(ops.zeros((1, latent_dim)))

    def budget_schedules(self):
        return {"FP-VAE KL warm-up (iterations)": self.warmup_iterations}

    def _log_names(self):
        return ["recon_loss", "kl", "beta"]

    def _trained_variables(self):
        return (model_utils.autoencoder_variables(self)
                + self.flow.trainable_variables)

    def _kl(self, mean, log_var, codes):
        """Single-sample estimate of KL(q(z|x) || p_flow(z)), batch mean."""
        std_codes = (codes - mean) * ops.exp(-0.5 * log_var)
        log_q = -0.5 * ops.sum(
            ops.square(std_codes) + log_var + np.log(2.0 * np.pi), axis=1)
        return ops.mean(log_q - self.flow.log_prob(codes))

    def _kl_weight(self):
        if self.warmup_iterations <= 0:
            return ops.convert_to_tensor(self.beta)
        progress = ops.cast(self.iteration, "float32") / float(
            self.warmup_iterations)
        return self.beta * ops.minimum(1.0, progress)

    def _prior_fit(self, codes):
        """-log p_flow(z) of the codes, with no gradient to the encoder."""
        return -ops.mean(self.flow.log_prob(ops.stop_gradient(codes)))

    def _logs(self, recon, kl, weight):
        return {"recon_loss": recon, "kl": kl, "beta": weight}

    def prior_codes(self, noise, training=False):
        del training
        return self.flow(noise)

    def trackables(self, inference_only=False):
        items = super().trackables(inference_only)
        items["flow_prior"] = self.flow
        return items
