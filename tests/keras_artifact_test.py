"""`.keras` artifacts: every model saves, and loads back without gin.

Each model is built from a tiny gin config, given random weights (moving
statistics and the mixture prior included, so nothing is at its initial
value), saved, and loaded after `gin.clear_config()` (or under another
config); every inference method must give the original's outputs.
"""

import inspect
import json
import os
import pkgutil
import importlib

import flexae_tf  # pylint: disable=unused-import
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.storage import artifacts
from flexae_tf.core import cli
from flexae_tf.core import errors
import flexae_tf.models
from flexae_tf.models import autoencoder
from flexae_tf.models import factory
from tests.helpers import SMALL_NETWORKS

SMALL = SMALL_NETWORKS.strip().splitlines()
MODELS = {
    "flexae_sr": ["gin/flexae_sr.gin"],
    "flexae": ["gin/flexae.gin"],
    "wae_normal_prior": ["FlexAE.prior = 'normal'"],
    "mask_aae": ["gin/mask_aae.gin"],
    "ae_gmm": ["gin/ae_gmm.gin"],
    "rae_gmm": ["gin/rae_gmm.gin"],
    "vae": ["gin/vae.gin"],
    "wae_gan": ["gin/wae_gan.gin"],
    "wae_wgan_gp": ["gin/wae_wgan_gp.gin"],
    "fp_vae": ["gin/fp_vae.gin", "FlowPrior.hidden_units = 16"],
    "aae_learned_prior": ["gin/aae_learned_prior.gin"],
}


def _model_classes():
    """Every AutoEncoderModel subclass in flexae_tf.models."""
    for module in pkgutil.iter_modules(flexae_tf.models.__path__):
        importlib.import_module(f"flexae_tf.models.{module.name}")
    found, todo = [], list(autoencoder.AutoEncoderModel.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("flexae_tf."):
            found.append(cls)
        todo += cls.__subclasses__()
    return found


def _build(setting, latent_dim=6):
    files = [b for b in MODELS[setting] if b.endswith(".gin")]
    bindings = [b for b in MODELS[setting] if not b.endswith(".gin")]
    cli.load_gin(files, SMALL + bindings + [
        f"LATENT_DIM = {latent_dim}", f"FlexAE.latent_dim = {latent_dim}",
        f"FlexAE.noise_dim = {latent_dim}"])
    model = factory.make_model((12, 12, 1))
    rng = np.random.default_rng(0)
    for variable in model.weights:
        if "int" in str(variable.dtype):
            variable.assign(np.full(variable.shape, 7))
        elif variable.trainable:
            variable.assign(variable.numpy() + rng.normal(
                scale=0.1, size=variable.shape))
        else:  # Moving means/variances, mixture parameters: positive.
            variable.assign(rng.uniform(0.5, 1.5, size=variable.shape))
    return model


def _outputs(model):
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(4, 12, 12, 1)).astype(np.float32)
    codes = model.encode(images)
    return {"sample": model.sample(3, seed=5),
            "encode": codes,
            "decode": model.decode(codes),
            "reconstruct": model.reconstruct(images),
            "interpolate": model.interpolate(images[:2], images[2:], 4)}


@pytest.fixture(autouse=True)
def _clean_gin():
    yield
    gin.clear_config()


@pytest.mark.parametrize("setting", sorted(MODELS))
def test_load_model_reproduces_every_inference_method(setting, tmp_path):
    model = _build(setting)
    model.compile()  # As in training: model.save must work on it.
    expected = _outputs(model)
    path = str(tmp_path / "model.keras")
    artifacts.save(model, path)
    assert os.listdir(tmp_path) == ["model.keras"]  # No temporary left.
    gin.clear_config()
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert int(loaded.iteration.numpy()) == 7
    for name, value in _outputs(loaded).items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_loading_ignores_the_current_gin_config(tmp_path):
    model = _build("flexae_sr")
    expected = _outputs(model)
    model.save(str(tmp_path / "m.keras"))
    # Another run's config in the process: other widths and sizes.
    cli.load_gin(["gin/tiny.gin"], ["FlexAE.critic_steps = 3",
                                    "Encoder.dense_units = 48"])
    loaded = keras.saving.load_model(str(tmp_path / "m.keras"))
    assert loaded.latent_dim == 6 and loaded.critic_steps == 5
    assert loaded.encoder.dense_units == 16
    for name, value in _outputs(loaded).items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_a_model_trained_under_a_strategy_saves(tmp_path):
    """The trainer saves a model built in MirroredStrategy's scope."""
    with tf.distribute.MirroredStrategy().scope():
        model = _build("flexae_sr")
        model.compile()
    expected = _outputs(model)
    path = str(tmp_path / "model.keras")
    artifacts.save(model, path)
    gin.clear_config()
    loaded = keras.saving.load_model(path)
    for name, value in _outputs(loaded).items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


def test_optimizer_state_stays_in_the_checkpoints(tmp_path):
    model = _build("flexae_sr")
    path = str(tmp_path / "m.keras")
    model.save(path)
    size = os.path.getsize(path)
    model.compile()  # Six Adam optimizers: 2 slots per trained weight.
    model.save(path)
    assert os.path.getsize(path) == pytest.approx(size, rel=0.05)


def test_every_model_class_is_registered_with_its_full_config():
    classes = _model_classes()
    names = {cls.__name__ for cls in classes}
    assert {"FlexAE", "AutoEncoderGMM", "VAE"} <= names
    for cls in classes:
        assert keras.saving.get_registered_object(
            f"flexae_tf>{cls.__name__}") is cls


@pytest.mark.parametrize("setting", sorted(MODELS))
def test_from_config_after_clear_config(setting):
    model = _build(setting)
    config = json.loads(json.dumps(model.get_config()))  # JSON-safe.
    parameters = set(inspect.signature(type(model).__init__).parameters)
    assert parameters - {"self", "kwargs"} <= set(config)  # STYLE.md 2.
    gin.clear_config()
    clone = type(model).from_config(config)
    assert [tuple(w.shape) for w in clone.weights] == [
        tuple(w.shape) for w in model.weights]
    assert json.loads(json.dumps(clone.get_config())) == config


def test_networks_a_constructor_does_not_build_are_an_error():
    model = _build("flexae")  # No image critic.
    config = model.get_config()
    config["networks"]["image_critic"] = keras.saving.serialize_keras_object(
        _build("flexae_sr").image_critic)
    gin.clear_config()
    with pytest.raises(ValueError, match="image_critic"):
        type(model).from_config(config)


def test_load_model_or_run(tmp_path):
    model = _build("vae")
    expected = _outputs(model)["sample"]
    path = str(tmp_path / "alone.keras")
    model.save(path)
    gin.clear_config()
    loaded, iteration, dataset = artifacts.load_model_or_run(path)
    assert (iteration, dataset) == (7, None)
    np.testing.assert_array_equal(loaded.sample(3, seed=5), expected)
    with pytest.raises(errors.UserError, match="dataset of .* is unknown"):
        artifacts.load_model_or_run(path, require_dataset=True)
    # A run directory without checkpoints falls back to its model.keras.
    run = tmp_path / "run"
    run.mkdir()
    (run / "operative_config.gin").write_text(
        "import flexae_tf.training.train_lib\ntrain.dataset = 'fashion_mnist'\n")
    model.save(str(run / "model.keras"))
    loaded, _, dataset = artifacts.load_model_or_run(str(run))
    assert dataset == "fashion_mnist"
    np.testing.assert_array_equal(loaded.sample(3, seed=5), expected)
    (tmp_path / "x.txt").write_text("")
    for bad, message in ((tmp_path / "nope.keras", "does not exist"),
                         (tmp_path / "x.txt", "neither a run directory")):
        with pytest.raises(errors.UserError, match=message):
            artifacts.load_model_or_run(str(bad))
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(errors.UserError, match="Cannot load"):
        artifacts.load_model_or_run(str(tmp_path / "broken.keras"))


def test_runs_and_artifacts_of_earlier_versions_still_load(tiny_run,
                                                           tmp_path):
    from flexae_tf.models import networks  # pylint: disable=g-import-not-at-top
    from flexae_tf.storage import checkpoints  # pylint: disable=g-import-not-at-top
    from tests import helpers  # pylint: disable=g-import-not-at-top
    old = helpers.copy_run(tiny_run, tmp_path / "old")
    config = os.path.join(old, checkpoints.CONFIG_FILE)
    with open(config, "a") as f:  # What earlier versions' runs bound.
        f.write("\ntrain_pipeline.shuffle_buffer = 1000\n"
                "FlexAE.mask_sparsity_weight = 0.0\n"
                "Encoder.latent_mask = False\n")
    try:
        model, iteration, dataset = checkpoints.load_trained(old)
        assert (iteration, dataset) == (2, "mnist")
        with open(config, "a") as f:  # A setting this version cannot run.
            f.write("FlexAE.mask_sparsity_weight = 1.0\n")
        with pytest.raises(errors.UserError, match="no longer supported"):
            checkpoints.load_trained(old)
    finally:
        gin.clear_config()
    encoder = networks.Encoder.from_config(dict(
        model.encoder.get_config(), latent_mask=False))
    assert encoder.latent_dim == model.encoder.latent_dim
