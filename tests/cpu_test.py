"""The oneDNN default: on for x86 unless the user chose, named in logs."""

import os
import subprocess
import sys

import pytest

from flexae_tf.core import cpu
from flexae_tf.core import paths

needs_x86 = pytest.mark.skipif(not cpu.is_x86(), reason="x86 only")


@needs_x86
def test_onednn_is_turned_on_only_where_the_user_did_not_choose():
    environ = {}
    assert cpu.prefer_onednn(environ, modules={})
    assert environ["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert cpu.onednn_state(environ) == "on (set by flexae_tf)"
    chosen = {"TF_ENABLE_ONEDNN_OPTS": "0"}
    assert not cpu.prefer_onednn(chosen, modules={})
    assert chosen == {"TF_ENABLE_ONEDNN_OPTS": "0"}
    assert cpu.onednn_state(chosen) == "off (TF_ENABLE_ONEDNN_OPTS=0)"
    # Too late once TensorFlow is imported: nothing changes, nothing lies.
    late = {}
    assert not cpu.prefer_onednn(late, modules={"tensorflow": object()})
    assert late == {}


@needs_x86
def test_importing_flexae_tf_turns_onednn_on_for_a_fresh_process():
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_ENABLE_ONEDNN_OPTS", "_FLEXAE_TF_SET_ONEDNN")}
    script = ("import os, flexae_tf, tensorflow\n"
              "from flexae_tf.core import cpu\n"
              "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], '|', "
              "cpu.describe())\n")
    out = subprocess.run([sys.executable, "-c", script], env=env,
                         cwd=paths.REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out.startswith("1 |"), out
    assert "oneDNN on (set by flexae_tf)" in out and "vector flags" in out


def test_cpu_flags_are_read_from_the_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU\n"
                       "flags\t\t: fpu avx2 fma\n")
    assert cpu.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "fma"}
    assert cpu.model_name(str(cpuinfo)) == "Test CPU"
    assert cpu.cpu_flags(str(tmp_path / "absent")) == frozenset()
