"""The fused BatchNormalization: Keras' numbers, in one kernel."""

import flexae_tf  # pylint: disable=unused-import
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.models import batch_norm


def _pair(shape, dtype_policy):
    """(fused, keras) layers with the same non-trivial weights."""
    layers_ = []
    for cls in (batch_norm.BatchNormalization,
                keras.layers.BatchNormalization):
        layer = cls(momentum=0.9, dtype=dtype_policy)
        layer.build(shape)
        channels = shape[-1]
        layer.gamma.assign(np.linspace(0.5, 1.5, channels, dtype=np.float32))
        layer.beta.assign(np.linspace(-0.2, 0.3, channels, dtype=np.float32))
        layer.moving_mean.assign(np.full(channels, 0.1, np.float32))
        layer.moving_variance.assign(np.full(channels, 2.0, np.float32))
        layers_.append(layer)
    return layers_


def _step(layer, inputs, upstream):
    """Training-mode output, gradients (input, gamma, beta), as a graph."""

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            x_in = tf.cast(x, layer.compute_dtype)
            y = layer(x_in, training=True)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * upstream)
        return y, tape.gradient(loss, [x, layer.gamma, layer.beta])

    y, grads = step(inputs)
    ops = {op.type for op in step.get_concrete_function(inputs).graph
           .get_operations()}
    return (np.asarray(tf.cast(y, tf.float32)), [g.numpy() for g in grads],
            [layer.moving_mean.numpy(), layer.moving_variance.numpy()], ops)


@pytest.mark.parametrize("shape", [(16, 5, 5, 6), (32, 7)])
@pytest.mark.parametrize("policy,tolerance", [("float32", 1e-5),
                                              ("mixed_bfloat16", 2e-2)])
def test_fused_training_pass_matches_keras(shape, policy, tolerance):
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.normal(3.0, 2.0, size=shape), tf.float32)
    upstream = tf.constant(rng.normal(size=shape), tf.float32)
    fused, reference = _pair(shape, policy)
    y_f, grads_f, moving_f, ops_f = _step(fused, inputs, upstream)
    y_k, grads_k, moving_k, ops_k = _step(reference, inputs, upstream)
    assert "FusedBatchNormV3" in ops_f and "Mean" not in ops_f
    assert "FusedBatchNormV3" not in ops_k
    np.testing.assert_allclose(y_f, y_k, atol=tolerance, rtol=tolerance)
    for a, b in zip(grads_f, grads_k):
        scale = np.abs(b).max()
        np.testing.assert_allclose(a, b, atol=tolerance * scale)
    # Moving statistics: Keras' update with the *biased* batch variance.
    x = inputs.numpy().reshape(-1, shape[-1])
    if policy == "mixed_bfloat16":
        x = tf.cast(tf.cast(x, tf.bfloat16), tf.float32).numpy()
    np.testing.assert_allclose(moving_f[0], 0.9 * 0.1 + 0.1 * x.mean(0),
                               rtol=1e-5)
    np.testing.assert_allclose(moving_f[1], 0.9 * 2.0 + 0.1 * x.var(0),
                               rtol=1e-5)
    for a, b in zip(moving_f, moving_k):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_bfloat16_without_onednn_normalises_in_float32(monkeypatch):
    # TensorFlow's CPU kernel takes bfloat16 only through oneDNN.
    monkeypatch.setattr(batch_norm, "_native_low_precision", lambda: False)
    shape = (8, 3, 3, 4)
    rng = np.random.default_rng(1)
    inputs = tf.constant(rng.normal(size=shape), tf.float32)
    upstream = tf.constant(rng.normal(size=shape), tf.float32)
    fused, reference = _pair(shape, "mixed_bfloat16")
    y_f, _, _, ops = _step(fused, inputs, upstream)
    y_k, _, _, _ = _step(reference, inputs, upstream)
    assert "FusedBatchNormV3" in ops
    np.testing.assert_allclose(y_f, y_k, atol=2e-2)


def test_inference_and_other_cases_take_keras_path():
    layer = batch_norm.BatchNormalization()
    layer.build((4, 3))
    x = tf.ones((4, 3))
    graph = tf.function(lambda x: layer(x, training=False)
                        ).get_concrete_function(x).graph
    assert "FusedBatchNormV3" not in {op.type for op in graph.get_operations()}
    # Same auto-generated name as Keras' layer, so weight paths are unchanged.
    assert batch_norm.BatchNormalization().name.startswith(
        "batch_normalization")
