"""The README and the documentation site: short, consistent, buildable."""

import glob
import importlib.util
import os
import re
import subprocess
import sys

import gin
import pytest

from flexae_tf.core import cli

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO_ROOT, "README.md")
TEST_COMMAND = "python -m pytest -n 2 --durations=25 tests"


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _pages():
    return [README] + sorted(glob.glob(os.path.join(REPO_ROOT, "docs", "**",
                                                    "*.md"), recursive=True))


def test_readme_is_a_short_introduction():
    assert len(_read(README).splitlines()) <= 300


def test_ci_runs_exactly_the_readme_test_command():
    readme_commands = [l.strip() for l in _read(README).splitlines()
                       if l.strip().startswith("python -m pytest")]
    assert readme_commands == [TEST_COMMAND]
    ci = [l.strip() for l in _read(os.path.join(REPO_ROOT, ".ci", "run"))
          .splitlines() if "pytest" in l and not l.lstrip().startswith("#")]
    assert ci == [TEST_COMMAND]


def test_readme_links_point_at_files():
    for target in re.findall(r"\]\(([^)\s]+)\)", _read(README)):
        if re.match(r"[a-z]+://", target):
            continue
        path = target.split("#")[0]
        assert os.path.exists(os.path.join(REPO_ROOT, path)), target


def test_every_gin_sheet_the_docs_name_exists():
    for page in _pages():
        for sheet in set(re.findall(r"gin/[\w/]+\.gin", _read(page))):
            assert os.path.isfile(os.path.join(REPO_ROOT, sheet)), (page,
                                                                    sheet)


def test_no_page_names_a_development_machine_path():
    for page in _pages():
        assert "/work/" not in _read(page), page


def test_quickstart_sheet_is_flexae_sr_with_the_documented_budget():
    try:
        cli.load_gin(["gin/mnist_quickstart.gin"], [])
        iterations = gin.query_parameter("train.num_iterations")
        assert gin.query_parameter("train.dataset") == "mnist"
        assert gin.query_parameter("FlexAE.smoothing") is True  # -SR.
        assert gin.query_parameter("FlexAE.prior") == "learned"
        assert gin.query_parameter("Encoder.filters") == (32, 64)  # narrow
        # One evaluation checkpoint: `evaluate` scores one candidate.
        assert gin.query_parameter(
            "EvaluationCheckpoints.interval") == iterations
    finally:
        gin.clear_config()
    budget = f"{iterations:,} iterations"
    for page in (README, os.path.join(REPO_ROOT, "docs", "quickstart.md")):
        assert budget in " ".join(_read(page).split()), page


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs not installed: pip install -e '.[docs]'")
def test_site_builds_in_strict_mode(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--site-dir", str(tmp_path / "site")], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
