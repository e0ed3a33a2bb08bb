"""The FID Inception-v3 layers (2015-12-05 graph), assembled in Keras 3.

Padding follows the spec exactly. Every padded stride-1 layer of this network
pads (k - 1) / 2 on each side, which is what TF's 'same' padding does, and
TF's 'same' average pool excludes the padded cells (count_include_pad false)
while its 'same' max pool ignores them. Any other padding is built explicitly
(`keras.layers.ZeroPadding2D`, `_explicit_pool`).
"""

import keras
import tensorflow as tf

FEATURE_DIM = 2048
INPUT_SIZE = 299


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


def build(folded):
    """The network on folded weights {NAME: (kernel, bias)}: [b, 299, 299,
    3] float32 in [-1, 1] -> pool_3 features [b, 2048]."""
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="images")
    x = inputs
    for name, branches in _blocks():
        outputs = _apply_branches(x, branches, folded)
        x = (outputs[0] if name is None
             else keras.layers.Concatenate(name=name)(outputs))
    x = keras.layers.AveragePooling2D(8, 8, "valid", name="pool2")(x)
    outputs = keras.layers.Reshape((FEATURE_DIM,), name="pool_3")(x)
    return keras.Model(inputs, outputs, name="fid_inception")
