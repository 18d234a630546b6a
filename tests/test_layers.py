"""The package's layers only point down: import-linter checks the `layers` contract in pyproject.toml.

A module that imports from a layer above its own (the learner from the EPyMARL integration, a part
from a command) fails here, naming the import and its line, as `lint-imports` does in CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[test]')")


def test_every_import_of_the_package_points_down_its_layers():
    # A fresh interpreter in the repository root analyses this clone's package, whatever else is
    # installed, and leaves no cache behind.
    check = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    proc = subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout, proc.stdout
