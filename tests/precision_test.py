"""Mixed precision: what runs in 16 bits, what stays float32, loss scaling."""


import flexae_tf  # pylint: disable=unused-import
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.core import precision
from flexae_tf.models import factory
from flexae_tf.models import losses
from tests import helpers

SHAPE = (28, 28, 1)


def tiny_model(policy, *bindings):
    gin.clear_config()
    cli.load_gin([helpers.TINY], list(bindings))
    keras.utils.set_random_seed(0)
    with precision.policy(policy):
        model = factory.make_model(SHAPE)
        model.compile()
    return model


def groups(model, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(
        size=(model.group_size, batch) + SHAPE).astype(np.float32))


def optimizer_variables(model):
    return [v for name, item in model.trackables().items()
            if name.endswith("_optimizer") for v in item.variables]


def float_dtypes(variables):
    return {v.dtype for v in variables if not v.dtype.startswith("int")}


def test_unknown_policy_is_one_user_error():
    with pytest.raises(errors.UserError, match="train.precision='bf16'"):
        with precision.policy("bf16"):
            pass


def test_mixed_bfloat16_computes_in_bf16_and_keeps_the_rest_float32():
    model = tiny_model("mixed_bfloat16")
    # The global policy is back: later models are float32 again.
    assert keras.config.dtype_policy().name == "float32"
    images = groups(model)[0]
    # The layers in between compute in bfloat16 ...
    hidden = model.encoder.conv_1(images)
    assert hidden.dtype == tf.bfloat16
    assert model.image_critic.conv_1(images).dtype == tf.bfloat16
    assert model.latent_critic.hidden[0](
        tf.zeros((4, model.latent_dim))).dtype == tf.bfloat16
    assert model.decoder.deconv_1.compute_dtype == "bfloat16"
    # ... the networks' outputs are float32 ...
    codes = model.encoder(images, training=True)
    fake = model.decoder(codes, training=True)
    assert codes.dtype == fake.dtype == tf.float32
    assert model.latent_critic(codes).dtype == tf.float32
    assert model.image_critic(fake).dtype == tf.float32
    assert model.prior_codes(tf.zeros((4, model.noise_dim))).dtype == (
        tf.float32)
    # ... and so are the gradient penalties and every variable and Adam
    # state.
    alpha = tf.constant([0.1, 0.4, 0.6, 0.9])
    assert losses.gradient_penalty(
        model.image_critic, images, fake, alpha).dtype == tf.float32
    assert losses.gradient_penalty(
        model.latent_critic, codes, codes[::-1], alpha).dtype == tf.float32
    assert float_dtypes(model.weights) == {"float32"}
    assert len(optimizer_variables(model)) > 6 * 2
    assert float_dtypes(optimizer_variables(model)) == {"float32"}
    logs = tf.function(model.train_step)(groups(model))
    assert {logs[name].dtype for name in logs} == {tf.float32}


@pytest.mark.parametrize("policy", precision.POLICIES)
def test_one_iteration_runs_with_finite_losses(policy):
    model = tiny_model(policy)
    before = [v.numpy() for v in model.trainable_variables]
    step = tf.function(model.train_step)
    logs = step(groups(model))
    for name, value in logs.items():
        assert np.isfinite(float(value)), (policy, name)
    # Kernels only: a critic's output bias has an exactly zero gradient
    # (it cancels in mean C(fake) - mean C(real)).
    moved = [not np.array_equal(a, v.numpy())
             for a, v in zip(before, model.trainable_variables)
             if "kernel" in v.path]
    # float16 may skip overflowing first steps while its loss scale
    # settles; the other policies must update every kernel.
    assert all(moved) if policy != "mixed_float16" else any(moved)
    if policy == "mixed_float16":
        scaled = model.reconstruction_optimizer
        assert isinstance(scaled, keras.optimizers.LossScaleOptimizer)
        assert "reconstruction_optimizer" in model.trackables()
    else:
        assert not isinstance(model.reconstruction_optimizer,
                              keras.optimizers.LossScaleOptimizer)


def _tiny_net(policy):
    with precision.policy(policy):
        net = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16),
                                keras.layers.Dense(1, dtype="float32")])
        # SGD with a huge rate: the step is rate * gradient, visible in
        # float32 weights even for a ~1e-10 gradient.
        optimizer = precision.loss_scaled(
            keras.optimizers.SGD(1e8), initial_scale=2.0**15)
    net.set_weights([np.full(w.shape, 0.5, np.float32)
                     for w in net.get_weights()])
    optimizer.build(net.trainable_variables)
    return net, optimizer


def _gradient(net, optimizer, inputs, scaled):
    with tf.GradientTape() as tape:
        # 1e-9: the loss gradient underflows float16 (smallest subnormal
        # ~6e-8) on its way back into the float16 layer.
        loss = 1e-9 * tf.reduce_sum(net(inputs))
    scale = precision.output_gradient(optimizer, loss) if scaled else None
    return tape.gradient(loss, net.trainable_variables,
                         output_gradients=scale)


def test_float16_loss_scaling_recovers_an_underflowing_gradient():
    inputs = tf.ones((2, 8))
    reference_net, reference_optimizer = _tiny_net("float32")
    assert precision.output_gradient(reference_optimizer, tf.ones(())) is None
    reference = _gradient(reference_net, reference_optimizer, inputs, False)
    net, optimizer = _tiny_net("mixed_float16")
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    kernel = net.trainable_variables[0]
    assert float(tf.reduce_max(tf.abs(reference[0]))) > 0
    unscaled = _gradient(net, optimizer, inputs, False)
    assert float(tf.reduce_max(tf.abs(unscaled[0]))) == 0.0  # Underflow.
    scaled = _gradient(net, optimizer, inputs, True)
    np.testing.assert_allclose(scaled[0].numpy() / 2.0**15,
                               reference[0].numpy(), rtol=1e-2)
    # apply() unscales before the step.
    before = kernel.numpy()
    optimizer.apply(scaled, net.trainable_variables)
    np.testing.assert_allclose((before - kernel.numpy()) / 1e8,
                               reference[0].numpy(), rtol=1e-2)
    # A non-finite gradient is skipped and halves the scale.
    before = kernel.numpy()
    optimizer.apply([g * np.inf for g in scaled], net.trainable_variables)
    np.testing.assert_array_equal(kernel.numpy(), before)
    assert float(optimizer.dynamic_scale) == 2.0**14


@helpers.needs_mnist
def test_train_precision_builds_the_run_under_that_policy(tmp_path):
    # pylint: disable=g-import-not-at-top
    from flexae_tf.training import train_lib
    gin.clear_config()
    cli.load_gin([helpers.TINY], ["train.precision = 'mixed_bfloat16'",
                          "FlexAE.critic_steps = 1"])
    # train() raises TrainingDiverged on a non-finite loss.
    model = train_lib.train(str(tmp_path / "run"), num_iterations=2)
    assert model.encoder.conv_2.compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    assert int(model.iteration.numpy()) == 2
    gin.clear_config()
    cli.load_gin([helpers.TINY], ["train.precision = 'bf16'"])
    with pytest.raises(errors.UserError, match="train.precision='bf16'"):
        train_lib.train(str(tmp_path / "bad"))


@pytest.mark.parametrize("flags,native", [
    ("fpu avx2 avx512f avx512_bf16 avx512_vnni", True),
    ("fpu avx2 amx_bf16 amx_tile", True),
    ("fpu avx2 avx512f avx512_vnni", False)])
def test_native_bfloat16_reads_the_cpu_flags(tmp_path, flags, native):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("with a GPU the answer is the GPU's")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert precision.native_bfloat16(str(cpuinfo), onednn=True) is native
    # Without oneDNN TensorFlow emulates bfloat16 (4.3x slower measured).
    assert precision.native_bfloat16(str(cpuinfo), onednn=False) is False
    assert precision.native_bfloat16(str(tmp_path / "absent"),
                                     onednn=True) is False


@pytest.mark.parametrize("native,policy", [(True, "mixed_bfloat16"),
                                           (False, "float32")])
def test_auto_precision_is_bfloat16_only_where_it_is_native(
        monkeypatch, native, policy):
    monkeypatch.setattr(precision, "native_bfloat16", lambda: native)
    assert precision.resolve("auto") == policy
    assert precision.resolve("mixed_float16") == "mixed_float16"
    with pytest.raises(errors.UserError, match="expected 'auto' or one of"):
        precision.resolve("bf16")
