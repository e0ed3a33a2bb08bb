"""tools/benchmark.py: pass counts, phases, A/B runs (not the timings)."""

import json
import subprocess
import sys

import flexae_tf  # pylint: disable=unused-import
import gin
import keras
import pytest

from flexae_tf.core import cli
from flexae_tf.core import paths
from flexae_tf.models import factory
from tools import benchmark
from tools import benchmark_phases
from tests import helpers


def tiny_model(*bindings):
    gin.clear_config()
    cli.load_gin([helpers.TINY], list(bindings))
    keras.utils.set_random_seed(0)
    model = factory.make_model((28, 28, 1))
    model.compile()
    return model


@pytest.mark.parametrize("steps", [1, 3])
def test_forward_and_backward_passes_of_one_flexae_sr_iteration(steps):
    model = tiny_model(f"FlexAE.critic_steps = {steps}")
    calls, gradients = benchmark_phases.count_passes(
        model, (model.group_size, 4, 28, 28, 1))
    # Per critic step: E(x), E(x'); the latent critic once on E(x) and G(n)
    # stacked (one batch, see losses.wgan_gp_critic_losses) and once on the
    # GP mix; the image critic likewise on [x; D(mix of codes)] and the mix.
    # Then reconstruction E, D; smoothing E(x), E(x'), D, C_img (fresh
    # passes, as the authors' algorithm); P-GEN G, C_lat; encoder
    # adversarial E, C_lat.
    assert calls == {"encoder": 1 + 2 * steps + 2 + 1,
                     "decoder": 1 + steps + 1,
                     "prior_generator": steps + 1,
                     "latent_critic": 2 * steps + 2,
                     "image_critic": 2 * steps + 1}
    # One per update (reconstruction, 2 critics per step, smoothing,
    # P-GEN, encoder) plus one inner gradient per GP.
    assert gradients == (1 + 2 * steps + 3) + 2 * steps
    # The counting wrappers are gone again.
    assert "call" not in vars(model.encoder)


def test_every_phase_is_timed_with_its_calls_per_iteration():
    model = tiny_model()
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    strategy = tf.distribute.get_strategy()
    group = tf.random.uniform((model.group_size, 4, 28, 28, 1))
    times = benchmark_phases.phase_times(model, strategy, False, group,
                                         repeats=2, calls=1)
    steps = model.critic_steps
    assert {name: value[3] for name, value in times.items()} == {
        "reconstruction": 1, "encode critic inputs": 2 * steps,
        "latent critic": steps, "image critic": steps, "smoothing": 1,
        "P-GEN": 1, "encoder adversarial": 1}
    for median, low, high, _ in times.values():
        assert 0 < low <= median <= high


def test_ab_settings_split_gin_bindings_and_environment():
    assert benchmark.parse_setting(
        "train.precision='mixed_bfloat16'; env:TF_ENABLE_ONEDNN_OPTS=0;"
        "FlexAE.critic_steps=2") == (
            ["train.precision='mixed_bfloat16'", "FlexAE.critic_steps=2"],
            {"TF_ENABLE_ONEDNN_OPTS": "0"})


@helpers.needs_mnist
def test_ab_mode_alternates_settings_in_processes_and_reports_medians(
        tmp_path):
    out = tmp_path / "ab.json"
    result = subprocess.run(
        [sys.executable, "-m", "tools.benchmark", f"--gin_file={helpers.TINY}",
         "--iterations=2", "--warmup=1", "--repeats=2", "--rounds=1",
         "--ab=FlexAE.critic_steps=1|FlexAE.critic_steps=1;"
         "env:TF_ENABLE_ONEDNN_OPTS=0", f"--json_out={out}"],
        cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "command: python -m tools.benchmark" in result.stdout
    assert "load average" in result.stdout
    assert "x1.00 vs A" in result.stdout
    with open(out) as f:
        results = json.load(f)
    assert len(results) == 2
    for stats in results.values():
        assert stats["n"] == 2
        assert 0 < stats["min"] <= stats["median"] <= stats["max"]
