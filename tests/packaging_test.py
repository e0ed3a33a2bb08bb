"""The installable package: its file list, the shipped gin sheets, extras.

The wheel is built here (no network: the build backend of this
environment) and imported from an unpacked copy, from a directory outside
the checkout, as a non-editable install would be. .ci/run goes further:
it installs the wheel into a fresh venv and trains with it.
"""

import ast
import os
import subprocess
import sys
import zipfile

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11.

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO_ROOT, "flexae_tf")
# Optional extras: imported only inside the functions that need them.
EXTRA_MODULES = {"ai_edge_litert": "tflite", "tensorflow_serving": "serving",
                 "grpc": "serving", "torch": "fid-weights"}


def _pyproject():
    with open(os.path.join(REPO_ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def _modules():
    for root, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                yield os.path.join(root, name)


def test_every_subpackage_is_listed():
    found = {os.path.relpath(root, REPO_ROOT).replace(os.sep, ".")
             for root, _, names in os.walk(PACKAGE) if "__init__.py" in names}
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    assert listed == found | {"flexae_tf.gin"}


def test_extras_are_imported_lazily():
    """No module imports an extra at its top level."""
    for path in _modules():
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in tree.body:  # Module level only.
            names = ([a.name for a in node.names]
                     if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [])
            for name in names:
                assert name.split(".")[0] not in EXTRA_MODULES, (path, name)


def test_console_scripts_point_at_run_functions():
    scripts = _pyproject()["project"]["scripts"]
    assert set(scripts) == {"flexae-train", "flexae-evaluate",
                            "flexae-export", "flexae-experiments",
                            "flexae-serving-client", "flexae-fid-weights"}
    for target in scripts.values():
        module, function = target.split(":")
        path = os.path.join(REPO_ROOT, *module.split(".")) + ".py"
        with open(path) as f:
            tree = ast.parse(f.read())
        assert function in {n.name for n in tree.body
                            if isinstance(n, ast.FunctionDef)}, target


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel's contents unpacked as a site-packages directory."""
    root = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
         "--no-build-isolation", "-w", str(root / "dist"), REPO_ROOT],
        capture_output=True, text=True, cwd=str(root), timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (root / "dist").iterdir()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(root / "site")
        names = archive.namelist()
    return root, names


def test_wheel_ships_the_gin_sheets(installed):
    _, names = installed
    sheets = sorted(os.path.relpath(os.path.join(r, n), REPO_ROOT)
                    for r, _, ns in os.walk(os.path.join(REPO_ROOT, "gin"))
                    for n in ns if n.endswith(".gin"))
    assert sheets and all(f"flexae_tf/{s}" in names for s in sheets)
    assert not any(n.startswith(("tests/", "tools/", "gin/")) for n in names)


def test_installed_package_finds_its_sheets_from_any_directory(installed):
    root, _ = installed
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import flexae_tf, gin, keras\n"
        "for name in ('FlexAE', 'AutoEncoderGMM', 'VAE'):  # Registered.\n"
        "    assert keras.saving.get_registered_object('flexae_tf>' + name)\n"
        "from flexae_tf.core import cli, paths\n"
        "assert flexae_tf.__file__.startswith(%r), flexae_tf.__file__\n"
        "assert paths.gin_root() == os.path.dirname(flexae_tf.__file__)\n"
        "for sheet in ('tiny.gin', 'gin/tiny.gin'):\n"
        "    cli.load_gin([sheet], [])  # tiny includes gin/mnist.gin ...\n"
        "    assert gin.query_parameter('FlexAE.critic_steps') == 1\n"
        "    assert gin.query_parameter('train.batch_size') == 8\n"
        "cli.load_gin(['experiments/cpu_networks.gin'], [])\n"
        "print('ok')\n") % str(root / "site")
    env = dict(os.environ, PYTHONPATH=str(root / "site"),
               TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", "import os\n" + script], capture_output=True,
        text=True, cwd=str(elsewhere), env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
