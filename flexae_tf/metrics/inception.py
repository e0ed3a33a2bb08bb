"""FID Inception-v3 (the 2015-12-05 TF graph, pool_3 features) in Keras 3.

This is the network of the FID reference code (TTUR), of TF-GAN's TF-Hub
inception module and of StyleGAN's metrics. Its weights cannot be downloaded
here; they come as plain arrays (`weights.npz`, described in
`shared/fid_inception/README.md`, rebuilt by `tools/build_fid_weights.py`).

Every convolution is conv -> batch norm (no scale, eps 1e-3, inference) ->
ReLU. The batch norm is folded into the kernel and a bias at load time: the
network only ever runs in inference mode, and one fused conv+bias+ReLU per
layer is markedly faster on CPU than conv, BN, ReLU.

Padding follows the spec exactly. Every padded stride-1 layer of this network
pads (k - 1) / 2 on each side, which is what TF's 'same' padding does, and
TF's 'same' average pool excludes the padded cells (count_include_pad false)
while its 'same' max pool ignores them. Any other padding is built explicitly
(`keras.layers.ZeroPadding2D`, `_explicit_pool`).

`InceptionFeatures` adds the FID input protocol (`preprocess`) and batching:
images in [0, 1] -> [b, 2048] features.
"""

import os

from absl import logging
import gin
import keras
import numpy as np
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.core import paths

FEATURE_DIM = 2048
INPUT_SIZE = 299
BN_EPSILON = 1e-3
ENV_VAR = "FLEXAE_FID_WEIGHTS"
_BN_PARTS = ("kernel", "beta", "moving_mean", "moving_variance")


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _conv(name, kernel, stride=1, padding=0):
    return ("conv", name, _pair(kernel), _pair(stride), _pair(padding))


def _pool(op, name, kernel=3, stride=1, padding=1):
    return (op, name, _pair(kernel), _pair(stride), _pair(padding))


_ROW = ((1, 7), 1, (0, 3))  # 1x7 conv, padded to keep the size.
_COL = ((7, 1), 1, (3, 0))


def _inception_a(n):
    return [
        [_conv(f"{n}.conv", 1)],
        [_conv(f"{n}.tower.conv", 1), _conv(f"{n}.tower.conv_1", 5, 1, 2)],
        [_conv(f"{n}.tower_1.conv", 1), _conv(f"{n}.tower_1.conv_1", 3, 1, 1),
         _conv(f"{n}.tower_1.conv_2", 3, 1, 1)],
        [_pool("avg_pool", f"{n}.tower_2.pool"), _conv(f"{n}.tower_2.conv", 1)],
    ]


def _inception_b(n):
    return [
        [_conv(f"{n}.conv", 3, 2)],
        [_conv(f"{n}.tower.conv", 1), _conv(f"{n}.tower.conv_1", 3, 1, 1),
         _conv(f"{n}.tower.conv_2", 3, 2)],
        [_pool("max_pool", f"{n}.pool", 3, 2, 0)],
    ]


def _inception_c(n):
    return [
        [_conv(f"{n}.conv", 1)],
        [_conv(f"{n}.tower.conv", 1), _conv(f"{n}.tower.conv_1", *_ROW),
         _conv(f"{n}.tower.conv_2", *_COL)],
        [_conv(f"{n}.tower_1.conv", 1), _conv(f"{n}.tower_1.conv_1", *_COL),
         _conv(f"{n}.tower_1.conv_2", *_ROW),
         _conv(f"{n}.tower_1.conv_3", *_COL),
         _conv(f"{n}.tower_1.conv_4", *_ROW)],
        [_pool("avg_pool", f"{n}.tower_2.pool"), _conv(f"{n}.tower_2.conv", 1)],
    ]


def _inception_d(n):
    return [
        [_conv(f"{n}.tower.conv", 1), _conv(f"{n}.tower.conv_1", 3, 2)],
        [_conv(f"{n}.tower_1.conv", 1), _conv(f"{n}.tower_1.conv_1", *_ROW),
         _conv(f"{n}.tower_1.conv_2", *_COL),
         _conv(f"{n}.tower_1.conv_3", 3, 2)],
        [_pool("max_pool", f"{n}.pool", 3, 2, 0)],
    ]


def _inception_e(n, pool_op):
    # Branches that share a prefix (same layer name) share its output: see
    # `_apply_branches`. mixed_10's pool branch is a max pool in the 2015
    # graph, mixed_9's an average pool.
    a = _conv(f"{n}.tower_conv", 1)
    b = [_conv(f"{n}.tower_1_conv", 1), _conv(f"{n}.tower_1_conv_1", 3, 1, 1)]
    h, v = ((1, 3), 1, (0, 1)), ((3, 1), 1, (1, 0))
    return [
        [_conv(f"{n}.conv", 1)],
        [a, _conv(f"{n}.tower_mixed_conv", *h)],
        [a, _conv(f"{n}.tower_mixed_conv_1", *v)],
        b + [_conv(f"{n}.tower_1_mixed_conv", *h)],
        b + [_conv(f"{n}.tower_1_mixed_conv_1", *v)],
        [_pool(pool_op, f"{n}.tower_2_pool"), _conv(f"{n}.tower_2_conv", 1)],
    ]


def _blocks():
    """[(block name or None for the stem, branches)] in forward order."""
    stem = [[
        _conv("conv", 3, 2), _conv("conv_1", 3), _conv("conv_2", 3, 1, 1),
        _pool("max_pool", "pool0", 3, 2, 0),
        _conv("conv_3", 1), _conv("conv_4", 3),
        _pool("max_pool", "pool1", 3, 2, 0),
    ]]
    names = ["mixed"] + [f"mixed_{i}" for i in range(1, 9)]
    makers = [_inception_a] * 3 + [_inception_b] + [_inception_c] * 4 + [
        _inception_d]
    return ([(None, stem)] + [(n, f(n)) for n, f in zip(names, makers)]
            + [("mixed_9", _inception_e("mixed_9", "avg_pool")),
               ("mixed_10", _inception_e("mixed_10", "max_pool"))])


def architecture():
    """Returns {layer name: (op, kernel, stride, padding)}, forward order.

    Ops: 'conv' (conv -> BN -> ReLU), 'max_pool', 'avg_pool' (padded cells
    excluded). Names as in spec.json; the final 8x8 pool is 'pool2'.
    """
    table = {}
    for _, branches in _blocks():
        for layer in (l for branch in branches for l in branch):
            table[layer[1]] = (layer[0],) + layer[2:]
    table["pool2"] = ("avg_pool", (8, 8), (8, 8), (0, 0))
    return table


def _padding_mode(kernel, stride, padding):
    """'valid', or 'same' where identical to the explicit padding, or None."""
    if padding == (0, 0):
        return "valid"
    if stride == (1, 1) and all(k == 2 * p + 1
                                for k, p in zip(kernel, padding)):
        return "same"
    return None


def _explicit_pool(x, op, kernel, stride, padding):
    """Pools with explicit padding that the padded cells do not influence."""
    pads = [[0, 0], [padding[0]] * 2, [padding[1]] * 2, [0, 0]]
    if op == "max_pool":
        x = tf.pad(x, pads, constant_values=x.dtype.min)
        return tf.nn.max_pool2d(x, kernel, stride, "VALID")
    # count_include_pad false: average-pool the zero-padded input and divide
    # by the fraction of real cells in each window (a pool of a ones mask).
    ones = tf.pad(tf.ones_like(x[..., :1]), pads)
    total = tf.nn.avg_pool2d(tf.pad(x, pads), kernel, stride, "VALID")
    return total / tf.nn.avg_pool2d(ones, kernel, stride, "VALID")


def _apply(x, layer, folded):
    op, name, kernel, stride, padding = layer
    mode = _padding_mode(kernel, stride, padding)
    if op == "conv":
        w, b = folded[name]
        if w.shape[:2] != kernel:
            raise ValueError(f"{name}/kernel has shape {w.shape}, expected "
                             f"a {kernel} kernel")
        if mode is None:
            x = keras.layers.ZeroPadding2D(padding, name=name + "_pad")(x)
            mode = "valid"
        conv = keras.layers.Conv2D(
            w.shape[3], kernel, stride, mode, activation="relu", name=name)
        x = conv(x)
        conv.set_weights([w, b])
        return x
    if mode is None:
        return keras.layers.Lambda(
            lambda t: _explicit_pool(t, op, kernel, stride, padding),
            name=name)(x)
    pool = {"max_pool": keras.layers.MaxPooling2D,
            "avg_pool": keras.layers.AveragePooling2D}[op]
    return pool(kernel, stride, mode, name=name)(x)


def _apply_branches(x, branches, folded):
    outputs, done = [], {}
    for branch in branches:
        y = x
        for layer in branch:
            if layer[1] not in done:  # Shared prefix: reuse its output.
                done[layer[1]] = _apply(y, layer, folded)
            y = done[layer[1]]
        outputs.append(y)
    return outputs


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
            "tools/build_fid_weights.py rebuilds the file.")
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
    for name, (op, *_) in architecture().items():
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
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="images")
    x = inputs
    for name, branches in _blocks():
        outputs = _apply_branches(x, branches, folded)
        x = (outputs[0] if name is None
             else keras.layers.Concatenate(name=name)(outputs))
    x = keras.layers.AveragePooling2D(8, 8, "valid", name="pool2")(x)
    outputs = keras.layers.Reshape((FEATURE_DIM,), name="pool_3")(x)
    logging.info("Built FID Inception from %s", weights_path)
    return keras.Model(inputs, outputs, name="fid_inception")


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

    def __init__(self, batch_size=None, model=None, jit_compile=False):
        """Builds (or wraps) the network.

        Args:
          batch_size: images per network call; None means 16 on CPU (small
            batches were fastest on a 2-core CPU) and 128 with a GPU.
          model: a `build_inception()` model; None builds one (its weights
            path is the gin binding `build_inception.weights_path`).
          jit_compile: compile the batch function with XLA.
        """
        if batch_size is None:
            gpus = tf.config.list_physical_devices("GPU")
            batch_size = 128 if gpus else 16
        self.batch_size = batch_size
        self.model = model if model is not None else build_inception()
        self.protocol = PROTOCOL
        self._run = tf.function(self._features, jit_compile=jit_compile)

    def _features(self, images):
        return self.model(preprocess(images), training=False)

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
