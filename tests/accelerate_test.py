"""train.jit_compile='auto' and the persistent XLA compilation cache."""

import os
import subprocess
import sys

import pytest

from flexae_tf.training import accelerate
from flexae_tf.core import errors
from flexae_tf.core import paths
from tests import helpers


def test_jit_compile_auto_is_off_without_a_gpu_and_bad_values_fail():
    assert accelerate.resolve_jit_compile(True) is True
    assert accelerate.resolve_jit_compile(False) is False
    assert accelerate.resolve_jit_compile("auto") == accelerate.gpu_visible()
    with pytest.raises(errors.UserError, match="train.jit_compile='yes'"):
        accelerate.resolve_jit_compile("yes")


def test_no_cache_without_xla(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    assert accelerate.enable_compilation_cache(str(tmp_path), False) is None
    assert "TF_XLA_FLAGS" not in os.environ
    assert accelerate.resolve_jit_compile(
        False, str(tmp_path / "xla_cache")) is False
    assert not (tmp_path / "xla_cache").exists()


def test_a_users_cache_directory_wins(tmp_path, monkeypatch):
    flags = f"--tf_xla_auto_jit=0 {accelerate.CACHE_FLAG}=/mine"
    monkeypatch.setenv("TF_XLA_FLAGS", flags)
    monkeypatch.delenv(accelerate.LINK_ENV, raising=False)
    assert accelerate.enable_compilation_cache(str(tmp_path), True) == "/mine"
    assert accelerate.reserve_compilation_cache() is None
    assert os.environ["TF_XLA_FLAGS"] == flags


def _train(model_dir, iterations):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_XLA_FLAGS", accelerate.LINK_ENV)}
    # The persistor logs each entry it loads at verbosity 3.
    env.update(TF_CPP_MIN_LOG_LEVEL="0",
               TF_CPP_VMODULE="device_executable_persistor=3")
    result = subprocess.run(
        [sys.executable, "-m", "flexae_tf.main", "--gin_file=gin/tiny.gin",
         f"--model_dir={model_dir}", "--gin_param=train.jit_compile=True",
         "--gin_param=FlexAE.critic_steps=1",
         f"--gin_param=train.num_iterations={iterations}"],
        cwd=paths.REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


@helpers.needs_mnist
def test_a_resumed_run_loads_its_xla_compilation_from_the_cache(tmp_path):
    model_dir = tmp_path / "run"
    cache = model_dir / accelerate.CACHE_SUBDIR
    first = _train(model_dir, 1)
    entries = accelerate.cache_entries(str(cache))
    assert entries, first[-3000:]
    assert "Loading cached entry" not in first
    written = {n: os.stat(cache / n).st_mtime_ns for n in entries}
    second = _train(model_dir, 2)  # Resumes at iteration 1.
    assert "Resumed from" in second
    assert "Loading cached entry" in second, second[-3000:]
    # Nothing was compiled anew: no new entry, none rewritten.
    assert {n: os.stat(cache / n).st_mtime_ns
            for n in accelerate.cache_entries(str(cache))} == written
