""".ci/lint: CI's `ruff check` always runs; `ruff format --check` runs only behind its switch."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SWITCH = "EPYMARL_LLM_CI_FORMAT_CHECK"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def _tree(tmp_path: Path, source: str) -> Path:
    """A tree with the repository's ruff settings and one module."""
    pytest.importorskip("ruff", reason="ruff is not installed (pip install ruff)")
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "mod.py").write_text(source)
    return tmp_path


def _lint(tree: Path, switch: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != SWITCH}
    if switch is not None:
        env[SWITCH] = switch
    return subprocess.run(
        ["bash", str(REPO_ROOT / ".ci" / "lint"), str(tree)], capture_output=True, text=True, env=env, timeout=120
    )


UNFORMATTED = "x = {'a':1}\n"  # lint-clean, but ruff format would rewrite it


def test_an_unformatted_tree_passes_with_the_switch_off_and_says_the_check_was_skipped(tmp_path):
    proc = _lint(_tree(tmp_path, UNFORMATTED), "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "skipped `ruff format --check .`" in proc.stdout


def test_with_the_switch_on_an_unformatted_tree_fails_naming_the_file(tmp_path):
    for switch in ("1", None):  # on by default
        proc = _lint(_tree(tmp_path, UNFORMATTED), switch)
        assert proc.returncode == 1, switch
        assert "mod.py" in proc.stdout + proc.stderr


def test_with_the_switch_on_a_formatted_tree_passes(tmp_path):
    proc = _lint(_tree(tmp_path, 'x = {"a": 1}\n'), "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check_runs_whatever_the_switch(tmp_path):
    tree = _tree(tmp_path, "import os\n")  # F401: unused import
    for switch in (None, "0", "1"):
        proc = _lint(tree, switch)
        assert proc.returncode == 1 and "F401" in proc.stdout, (switch, proc.stdout + proc.stderr)
