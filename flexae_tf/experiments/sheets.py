"""The gin sheets the suites train with (image sheets by display name)."""

# The synthetic suites' MLP networks.
SYNTHETIC_SHEET = "gin/experiments/synthetic.gin"
# Narrow image networks of the CPU budget.
CPU_SHEET = "gin/experiments/cpu_networks.gin"
DATASET_SHEETS = {"mnist": "gin/mnist.gin",
                  "fashion_mnist": "gin/fashion_mnist.gin",
                  "cifar10": "gin/cifar10.gin", "celeb_a": "gin/celeba.gin"}
# Display name: model sheet (applied after the dataset sheet).
MODEL_SHEETS = {
    "VAE": "gin/vae.gin",
    "FP-VAE": "gin/fp_vae.gin",
    "AE+GMM": "gin/ae_gmm.gin",
    "RAE+GMM": "gin/rae_gmm.gin",
    "WAE-GAN": "gin/wae_gan.gin",
    "WAE (WGAN-GP critic)": "gin/wae_wgan_gp.gin",
    "MaskAAE": "gin/mask_aae.gin",
    "Learned prior (lambda=0)": "gin/learned_prior_no_encoder_reg.gin",
    "AAE (learned prior)": "gin/aae_learned_prior.gin",
    "FlexAE": "gin/flexae.gin",
    "FlexAE-SR": "gin/flexae_sr.gin",
}

# The FlexAE paper's iterations per model (Sec. 5): the reference of the
# schedules a shorter budget scales (`budget.Budget.schedule_bindings`).
PAPER_ITERATIONS = 130000
# Display name: gin configurable whose `schedule_scale` shortens its
# budget-dependent schedules (MaskAAE's T, FP-VAE's KL warm-up).
SCHEDULED_MODELS = {"MaskAAE": "MaskAAE", "FP-VAE": "FPVAE"}
