"""The baseline models by name, one module each (import point of old sheets).

- `AutoEncoderGMM` (rae.py): AE / RAE + GMM, Ghosh et al. (ICLR 2020).
- `VAE` (vae.py): Kingma & Welling (2014).
- `WAEGAN` (wae_gan.py): Tolstikhin et al. (ICLR 2018).
- `MaskAAE` (mask_aae.py): Mondal et al. (UAI 2020).
- `FPVAE` (fp_vae.py): VAE with a RealNVP flow prior (learned-priors paper).

The WGAN-GP-critic WAE, the learned prior without encoder regularisation
and the beta-weighted AAE with a learned prior are configurations of
`flexae.FlexAE` (see gin/*.gin). Importing this module registers every
baseline with gin.
"""

# pylint: disable=unused-import
from flexae_tf.models.fp_vae import FPVAE
from flexae_tf.models.mask_aae import MaskAAE
from flexae_tf.models.rae import AutoEncoderGMM
from flexae_tf.models.vae import VAE
from flexae_tf.models.wae_gan import WAEGAN
