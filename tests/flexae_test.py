"""FlexAE's updates: which variables each phase moves, and the full step."""

import subprocess
import sys
import textwrap

import flexae_tf  # pylint: disable=unused-import
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.models import flexae
from tests.helpers import SMALL_NETWORKS

SHAPE = (28, 28, 1)
NETWORKS = ("encoder", "decoder", "prior_generator", "latent_critic",
            "image_critic")


def small_model(**kwargs):
    gin.clear_config()
    gin.parse_config(SMALL_NETWORKS)
    tf.keras.utils.set_random_seed(0)
    kwargs.setdefault("critic_steps", 2)
    model = flexae.FlexAE(SHAPE, latent_dim=6, **kwargs)
    model.compile()
    return model


def snapshot(model):
    return {(net, v.path): v.numpy().copy()
            for net in NETWORKS if getattr(model, net) is not None
            for v in getattr(model, net).trainable_variables}


def changed(model, before):
    after = snapshot(model)
    return {key for key in before if not np.array_equal(before[key],
                                                       after[key])}


def variables_of(model, *nets):
    """Trainable variables of `nets` that a gradient step can move.

    A critic's output bias gets exactly zero gradient from its own loss,
    mean C(fake) - mean C(real) (+ a penalty on input gradients), so it
    never moves in a critic update.
    """
    frozen = set()
    if nets in (("latent_critic",), ("image_critic",)):
        frozen = {getattr(model, nets[0]).out.bias.path}
    return {(net, v.path) for net in nets
            for v in getattr(model, net).trainable_variables
            if v.path not in frozen}


@pytest.fixture(scope="module")
def model():
    return small_model()


IMAGES = tf.random.stateless_uniform((4,) + SHAPE, seed=[1, 2])
IMAGES_2 = tf.random.stateless_uniform((4,) + SHAPE, seed=[3, 4])
NOISE = tf.random.stateless_normal((4, 6), seed=[7, 8])


@pytest.mark.parametrize("phase,call,owners", [
    ("reconstruction", lambda m: m._reconstruction_step(IMAGES),
     ("encoder", "decoder")),
    ("latent critic", lambda m: m._latent_critic_step(m.encode(IMAGES),
                                                      NOISE),
     ("latent_critic",)),
    ("image critic", lambda m: m._image_critic_step(
        IMAGES, m.encode(IMAGES), m.encode(IMAGES_2)),
     ("image_critic",)),
    ("smoothing", lambda m: m._smoothing_step(IMAGES, IMAGES_2),
     ("encoder", "decoder")),
    ("prior generator", lambda m: m._prior_generator_step(NOISE),
     ("prior_generator",)),
    ("encoder adversarial", lambda m: m._encoder_adversarial_step(IMAGES),
     ("encoder",)),
])
def test_each_phase_changes_exactly_its_variables(model, phase, call,
                                                  owners):
    before = snapshot(model)
    logs = call(model)
    assert changed(model, before) == variables_of(model, *owners), phase
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_zero_encoder_weight_leaves_the_encoder_alone():
    model = small_model(encoder_adversarial_weight=0.0)
    before = snapshot(model)
    model._encoder_adversarial_step(IMAGES)
    assert not changed(model, before)


def _update(model, step, *nets):
    """Weight change of `nets` made by one call of `step`.

    Keyed by (network, variable index): layer names, hence paths, differ
    between models built in one process.
    """
    weights = lambda: {(net, i): v.numpy().copy() for net in nets
                       for i, v in enumerate(
                           getattr(model, net).trainable_variables)}
    before = weights()
    step(model)
    after = weights()
    return {k: after[k] - before[k] for k in before}


def test_separate_mode_lambda_scales_the_encoder_step():
    """lambda is the learning-rate factor of the encoder's own Adam step.

    A first Adam step from equal states and equal gradients is
    lr * m_hat / (sqrt(v_hat) + eps), linear in lr: lambda = 2 must move
    every encoder weight exactly twice as far as lambda = 1 (a loss weight
    would not: Adam cancels it), and lambda = 0 not at all.
    """
    step = lambda m: m._encoder_adversarial_step(IMAGES)
    deltas = {lam: _update(small_model(encoder_adversarial_weight=lam),
                           step, "encoder", "decoder")
              for lam in (0.0, 1.0, 2.0)}
    assert not any(np.any(d) for d in deltas[0.0].values())
    for key, one in deltas[1.0].items():
        if key[0] == "decoder":
            assert not np.any(one) and not np.any(deltas[2.0][key])
        else:
            # Steps are ~1e-5; float32 weights round them to ~1e-8.
            np.testing.assert_allclose(deltas[2.0][key], 2.0 * one,
                                       rtol=1e-3, atol=1e-7)
    assert any(np.any(d) for d in deltas[1.0].values())


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_separate_mode_lambda_under_mirrored_strategy(lam):
    """The trainer compiles inside MirroredStrategy, where Adam's rate is a
    mirrored variable: scaling it must not read it back (the lambda = 0
    baseline once failed to start there)."""
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = small_model(encoder_adversarial_weight=lam)
    rate = model.encoder_adversarial_optimizer.learning_rate
    assert keras.ops.convert_to_numpy(rate) == pytest.approx(lam * 1e-5)


def test_joint_mode_lambda_weights_the_term_in_the_reconstruction_step():
    """lambda * mean C_k(E(x)) joins the reconstruction loss and its Adam.

    The decoder never sees the term, so its step is the same for every
    lambda; the encoder's differs between lambdas > 0, and lambda = 0
    gives exactly the plain reconstruction step ("separate" mode's).
    """
    step = lambda m: m._reconstruction_step(IMAGES)
    nets = ("encoder", "decoder")
    plain = _update(small_model(), step, *nets)
    deltas = {lam: _update(small_model(encoder_adversarial_mode="joint",
                                       encoder_adversarial_weight=lam),
                           step, *nets)
              for lam in (0.0, 1.0, 2.0)}
    for key in plain:
        np.testing.assert_array_equal(deltas[0.0][key], plain[key])
        if key[0] == "decoder":
            np.testing.assert_allclose(deltas[1.0][key], plain[key],
                                       atol=1e-9)
            np.testing.assert_allclose(deltas[2.0][key], plain[key],
                                       atol=1e-9)
    encoder_keys = [k for k in plain if k[0] == "encoder"]
    for a, b in ((0.0, 1.0), (1.0, 2.0)):
        assert any(not np.allclose(deltas[a][k], deltas[b][k], atol=1e-9)
                   for k in encoder_keys), (a, b)


def test_joint_mode_has_no_separate_encoder_update():
    model = small_model(encoder_adversarial_mode="joint")
    assert not hasattr(model, "encoder_adversarial_optimizer")
    assert "encoder_adversarial_optimizer" not in model.trackables()
    groups = tf.random.stateless_uniform(
        (model.group_size, 4) + SHAPE, seed=[5, 6])
    logs = tf.function(model.train_step)(groups)
    assert set(logs) == set(model.log_names)
    assert np.isfinite(float(logs["encoder_adversarial_loss"]))


def _moving_statistics(model):
    return [v.numpy().copy() for net in (model.encoder, model.decoder)
            for v in net.non_trainable_variables]


@pytest.mark.parametrize("policy", ["reconstruction", "all"])
def test_bn_policy_decides_which_passes_move_the_statistics(policy):
    """'reconstruction': an iteration leaves the moving statistics exactly
    where the reconstruction update alone puts them; 'all': elsewhere."""
    groups = tf.random.stateless_uniform((5, 4) + SHAPE, seed=[5, 6])
    alone = small_model(bn_statistics=policy)
    alone._reconstruction_step(groups[0])
    model = small_model(bn_statistics=policy)
    model.train_step(groups)
    same = [np.allclose(a, b, atol=1e-6) for a, b in zip(
        _moving_statistics(alone), _moving_statistics(model))]
    assert all(same) if policy == "reconstruction" else not all(same)


def test_generator_updates_reuse_the_last_critic_steps_noise(monkeypatch):
    model = small_model()
    seen = {"critic": [], "prior": []}
    critic_step, prior_step = (model._latent_critic_step,
                               model._prior_generator_step)

    def record_critic(codes, noise):
        seen["critic"].append(noise.numpy())
        return critic_step(codes, noise)

    def record_prior(noise):
        seen["prior"].append(noise.numpy())
        return prior_step(noise)

    monkeypatch.setattr(model, "_latent_critic_step", record_critic)
    monkeypatch.setattr(model, "_prior_generator_step", record_prior)
    model.train_step(tf.random.stateless_uniform((5, 4) + SHAPE,
                                                 seed=[5, 6]))
    assert len(seen["critic"]) == 2 and len(seen["prior"]) == 1
    np.testing.assert_array_equal(seen["prior"][0], seen["critic"][-1])
    assert not np.array_equal(seen["critic"][0], seen["critic"][1])


def test_train_step_in_a_graph_logs_every_loss_and_counts():
    model = small_model()
    groups = tf.random.stateless_uniform(
        (model.group_size, 4) + SHAPE, seed=[5, 6])
    logs = tf.function(model.train_step)(groups)
    assert set(logs) == set(model.log_names)
    assert {"recon_loss", "latent_wasserstein", "image_wasserstein",
            "prior_loss", "smoothing_loss"} <= set(logs)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert int(model.iteration.numpy()) == 1
    assert model.group_size == 5  # 1 reconstruction + 2 x 2 critic batches.


@pytest.mark.parametrize("kwargs,absent", [
    ({"prior": "normal"}, "prior_generator"),
    ({"smoothing": False}, "image_critic"),
])
def test_variants_drop_their_networks_and_still_train(kwargs, absent):
    model = small_model(**kwargs)
    assert getattr(model, absent) is None
    groups = tf.random.stateless_uniform(
        (model.group_size, 4) + SHAPE, seed=[5, 6])
    logs = model.train_step(groups)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert absent not in model.trackables()


def test_bad_settings_are_clear_errors():
    with pytest.raises(errors.UserError, match="prior"):
        small_model(prior="gmm")
    with pytest.raises(errors.UserError, match="noise_dim"):
        small_model(prior="normal", noise_dim=3)
    with pytest.raises(errors.UserError, match="bn_statistics"):
        small_model(bn_statistics="some")
    with pytest.raises(errors.UserError, match="encoder_adversarial_mode"):
        small_model(encoder_adversarial_mode="both")
    with pytest.raises(errors.UserError, match="encoder_adversarial_weight"):
        small_model(encoder_adversarial_weight=-1.0)


def test_sampling_reconstruction_and_interpolation(model):
    samples = model.sample(5, seed=3).numpy()
    assert samples.shape == (5,) + SHAPE
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.sample(5, seed=3).numpy())
    recon = model.reconstruct(IMAGES).numpy()
    assert recon.shape == IMAGES.shape and 0 <= recon.min() <= recon.max() <= 1
    path = model.interpolate(IMAGES[:2], IMAGES_2[:2], 6).numpy()
    assert path.shape == (2, 6) + SHAPE
    np.testing.assert_allclose(path[:, 0], recon[:2], atol=1e-5)
    np.testing.assert_allclose(
        path[:, -1], model.reconstruct(IMAGES_2[:2]).numpy(), atol=1e-5)


_TWO_REPLICAS = textwrap.dedent("""
    import flexae_tf, gin, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from flexae_tf.models import flexae
    # A huge Adam epsilon makes the first update ~ lr * grad / eps, linear
    # in the gradient, so a wrong replica scaling would show (plain Adam is
    # invariant to gradient scale).
    gin.parse_config(\"\"\"%s
    latent_critic/make_optimizer.epsilon = 1e3
    latent_critic/make_optimizer.learning_rate = 1e2\"\"\")
    real = tf.random.stateless_normal((8, 6), seed=[1, 1])
    fake = tf.random.stateless_normal((8, 6), seed=[2, 2])
    weights = []
    for devices in (["/cpu:0"], ["/cpu:0", "/cpu:1"]):
        strategy = tf.distribute.MirroredStrategy(devices)
        with strategy.scope():
            tf.keras.utils.set_random_seed(0)
            model = flexae.FlexAE((28, 28, 1), latent_dim=6, gp_weight=0.0)
            model.compile()
        data = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices((real, fake)).batch(8))
        r, f = next(iter(data))
        step = lambda a, b: model._wgan_gp_step(
            model.latent_critic, model.latent_critic_optimizer, a, b, 0.0)
        tf.function(lambda a, b: strategy.run(step, args=(a, b)))(r, f)
        weights.append([v.numpy() for v in model.latent_critic.weights])
    diff = max(np.abs(a - b).max() for a, b in zip(*weights))
    moved = max(np.abs(a).max() for a in weights[0])
    print("MAXDIFF", diff, moved)
""") % SMALL_NETWORKS


def test_two_replicas_take_the_same_step_as_one_on_the_global_batch():
    result = subprocess.run([sys.executable, "-c", _TWO_REPLICAS],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    line = [l for l in result.stdout.splitlines() if l.startswith("MAXDIFF")]
    diff = float(line[0].split()[1])
    assert diff < 1e-6, result.stdout


def test_vector_networks_train_flexae_on_vector_data():
    # The synthetic experiments' setting: data in R^128, MLP encoder and
    # decoder chosen in gin.
    gin.clear_config()
    gin.parse_config("""
        build_encoder.network = @VectorEncoder
        build_decoder.network = @VectorDecoder
        VectorEncoder.hidden_units = 16
        VectorDecoder.hidden_units = 16
        PriorGenerator.hidden_units = 16
        LatentCritic.hidden_units = 16""")
    model = flexae.FlexAE((128,), latent_dim=5, smoothing=False,
                          critic_steps=1)
    model.compile()
    groups = tf.random.stateless_normal((model.group_size, 8, 128), [0, 0])
    logs = model.train_step(groups)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert model.sample(3, seed=0).shape == (3, 128)
    assert model.interpolate(groups[0, :2], groups[1, :2], 4).shape == (
        2, 4, 128)


def test_xla_iteration_matches_the_graph_iteration():
    # The first update (reconstruction) draws no random numbers and must
    # agree; the later ones draw noise, g and GP alphas, whose bit streams
    # differ under XLA (TF's XLA kernels for stateless random ops use other
    # bit generators), so those are checked for finiteness only.
    from flexae_tf.training import train_lib  # pylint: disable=g-import-not-at-top
    groups = tf.random.stateless_uniform((3, 4) + SHAPE, seed=[7, 7])
    logs = []
    for jit in (False, True):
        strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
        with strategy.scope():
            model = small_model(critic_steps=1)  # A smaller XLA compile.
        run = train_lib.make_train_function(model, strategy, jit_compile=jit)
        run(iter(tf.data.Dataset.from_tensors(groups).repeat()),
            tf.constant(1))
        logs.append({name: float(tracker.result())
                     for name, tracker in model.trackers.items()})
    np.testing.assert_allclose(logs[0]["recon_loss"], logs[1]["recon_loss"],
                               rtol=1e-5)
    assert logs[0].keys() == logs[1].keys()
    assert all(np.isfinite(v) for v in logs[1].values())
