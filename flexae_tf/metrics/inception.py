"""FID Inception-v3 (the 2015-12-05 TF graph, pool_3 features) in Keras 3.

This is the network of the FID reference code (TTUR), of TF-GAN's TF-Hub
inception module and of StyleGAN's metrics. Its weights cannot be downloaded
here; they come as plain arrays (`weights.npz`, described in
`shared/fid_inception/README.md`, rebuilt by the `flexae-fid-weights` command).

Every convolution is conv -> batch norm (no scale, eps 1e-3, inference) ->
ReLU. The batch norm is folded into the kernel and a bias at load time: the
network only ever runs in inference mode, and one fused conv+bias+ReLU per
layer is markedly faster on CPU than conv, BN, ReLU.

The layers themselves are in `inception_network`.

`InceptionFeatures` adds the FID input protocol (`preprocess`) and batching:
images in [0, 1] -> [b, 2048] features.
"""

import os

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.core import paths
from flexae_tf.core import precision
from flexae_tf.metrics import inception_network as network

FEATURE_DIM = network.FEATURE_DIM
INPUT_SIZE = network.INPUT_SIZE
BN_EPSILON = 1e-3
ENV_VAR = "FLEXAE_FID_WEIGHTS"
_BN_PARTS = ("kernel", "beta", "moving_mean", "moving_variance")
COMPUTE_DTYPES = ("float32", "bfloat16")


class MissingWeightsError(errors.UserError, FileNotFoundError):
    """The FID weights file is absent: one line for the CLI (a UserError),
    still a FileNotFoundError for callers that catch that."""


def load_folded_weights(weights_path):
    """Reads weights.npz and folds each batch norm into its convolution.

    Args:
      weights_path: .npz with NAME/{kernel (HWIO), beta, moving_mean,
        moving_variance} for every conv layer NAME.

    Returns:
      Dict NAME -> (kernel [kh, kw, in, out], bias [out]), float32.

    Raises:
      FileNotFoundError: if the file is missing.
      ValueError: if it is unreadable, or an array is missing or malformed.
    """
    hint = (f"Set ${ENV_VAR} or bind build_inception.weights_path; "
            "run `flexae-fid-weights` to build it (needs `pip install torch`).")
    if not os.path.isfile(weights_path):
        raise MissingWeightsError(
            f"FID Inception weights not found at {weights_path!r}. {hint}")
    try:
        with np.load(weights_path) as npz:
            arrays = {k: np.asarray(npz[k], np.float64) for k in npz.files}
    except Exception as e:  # np.load raises many types on a bad file.
        raise ValueError(f"Cannot read FID Inception weights "
                         f"{weights_path!r} ({e}). {hint}") from e
    folded = {}
    for name, (op, *_) in network.architecture().items():
        if op != "conv":
            continue
        keys = [f"{name}/{part}" for part in _BN_PARTS]
        if any(k not in arrays for k in keys):
            raise ValueError(f"{weights_path!r} lacks {keys}: not an FID "
                             f"Inception weights file? {hint}")
        kernel, beta, mean, var = (arrays[k] for k in keys)
        if not (kernel.ndim == 4
                and beta.shape == mean.shape == var.shape == kernel.shape[3:]
                and np.all(np.isfinite(kernel)) and np.all(var >= 0)):
            raise ValueError(f"Malformed arrays for {name} in "
                             f"{weights_path!r}. {hint}")
        scale = 1.0 / np.sqrt(var + BN_EPSILON)
        folded[name] = ((kernel * scale).astype(np.float32),
                        (beta - mean * scale).astype(np.float32))
    return folded


@gin.configurable
def build_inception(weights_path=None):
    """Builds the FID Inception network for inputs already scaled to [-1, 1].

    Args:
      weights_path: weights.npz; None means `paths.default_fid_weights()`
        ($FLEXAE_FID_WEIGHTS, else <shared>/fid_inception/weights.npz).

    Returns:
      A functional `keras.Model` mapping [b, 299, 299, 3] float32 to pool_3
      features [b, 2048].

    Raises:
      FileNotFoundError, ValueError: missing or bad weights.
    """
    weights_path = weights_path or paths.default_fid_weights()
    folded = load_folded_weights(weights_path)
    logging.info("Built FID Inception from %s", weights_path)
    return network.build(folded)


PROTOCOL = (  # Names the feature extractor in FID results and caches.
    "fid_inception_2015-12-05/pool_3; x*255, gray->rgb, "
    "tf1 resize_bilinear 299 (align_corners=False, half_pixel_centers=False),"
    " (x-128)/128")


def preprocess(images):
    """FID input protocol: [b, h, w, 1 or 3] in [0, 1] -> [b, 299, 299, 3].

    As in the FID reference code: scale to [0, 255], tile grayscale to RGB,
    TF1's legacy bilinear resize to 299x299, then (x - 128) / 128.

    Args:
      images: float tensor [b, h, w, c], c in {1, 3}, values in [0, 1].

    Returns:
      float32 [b, 299, 299, 3] in [-1, 1).
    """
    x = tf.cast(images, tf.float32) * 255.0
    if x.shape[-1] == 1:
        x = tf.tile(x, [1, 1, 1, 3])
    # The op behind tf.compat.v1.image.resize_bilinear, without its
    # deprecation warning on every trace.
    x = tf.raw_ops.ResizeBilinear(
        images=x, size=[INPUT_SIZE, INPUT_SIZE], align_corners=False,
        half_pixel_centers=False)
    return (x - 128.0) / 128.0


def check_images(images):
    """Raises ValueError unless `images` is [b, h, w, 1 or 3] in [0, 1]."""
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise ValueError(f"Expected images [batch, height, width, 1 or 3], "
                         f"got shape {shape}")
    if shape[0] == 0:
        raise ValueError("Expected at least one image")
    if not np.issubdtype(np.dtype(images.dtype), np.floating):
        raise ValueError(f"Expected float images in [0, 1], got dtype "
                         f"{images.dtype} (divide uint8 images by 255)")
    lo, hi = float(np.min(images)), float(np.max(images))
    if not (0.0 <= lo and hi <= 1.0):  # Also false for NaN.
        raise ValueError(f"Expected images in [0, 1], got values in "
                         f"[{lo}, {hi}]; no rescaling is done here")


@gin.configurable(denylist=["model"])
class InceptionFeatures:
    """Callable: images [n, h, w, c] in [0, 1] -> FID pool_3 features [n, 2048].

    Runs `preprocess` and the network in one `tf.function` on fixed-size
    batches; the last batch is zero-padded, so there is one trace per image
    shape and no retrace for a short final batch.
    """

    space = "inception"  # Names memorization results and grids.

    def __init__(self, batch_size=None, model=None, jit_compile=False,
                 compute_dtype="float32"):
        """Builds (or wraps) the network.

        Args:
          batch_size: images per network call; None means 16 on CPU (small
            batches were fastest on a 2-core CPU) and 128 with a GPU.
          model: a `build_inception()` model; None builds one (its weights
            path is the gin binding `build_inception.weights_path`).
          jit_compile: compile the batch function with XLA.
          compute_dtype: "float32" (the FID protocol; every published
            number) or "bfloat16": convolutions in bfloat16 with float32
            weights and features, for CPUs with native bfloat16 and GPUs.
            Its features differ from float32's (docs/speed.md gives the
            KID change measured), so it has its own `protocol` name and
            feature cache entries, and its FIDs compare only with
            each other.
        """
        errors.check_choice("InceptionFeatures.compute_dtype", compute_dtype,
                            COMPUTE_DTYPES)
        if batch_size is None:
            gpus = tf.config.list_physical_devices("GPU")
            batch_size = 128 if gpus else 16
        self.batch_size = batch_size
        self.compute_dtype = compute_dtype
        if model is None:
            with precision.policy("mixed_bfloat16" if compute_dtype ==
                                  "bfloat16" else "float32"):
                model = build_inception()
        self.model = model
        self.protocol = PROTOCOL + (
            "" if compute_dtype == "float32" else f"; {compute_dtype} compute")
        self._run = tf.function(self._features, jit_compile=jit_compile)

    def _features(self, images):
        return tf.cast(self.model(preprocess(images), training=False),
                       tf.float32)

    def __call__(self, images):
        """Returns float32 numpy features [n, 2048] of `images` in [0, 1]."""
        images = np.asarray(images)
        check_images(images)
        n, bs = images.shape[0], self.batch_size
        outputs = []
        for start in range(0, n, bs):
            batch = images[start:start + bs].astype(np.float32)
            if len(batch) < bs:  # Fixed batch shape: no retrace.
                pad = np.zeros((bs - len(batch),) + batch.shape[1:], np.float32)
                batch = np.concatenate([batch, pad])
            outputs.append(self._run(tf.constant(batch)).numpy())
        return np.concatenate(outputs)[:n]
