"""The packages' layers only point down: import-linter checks the contracts in pyproject.toml.

A module that imports from a layer above its own (the learner from the EPyMARL integration, a part
from a command) fails here, naming the import and its line, as `lint-imports` does in CI. So does
any import of the tooling (`epymarl_llm_tools`) from `epymarl_llm`, the package a training run loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = (
    "epymarl_llm never imports epymarl_llm_tools",
    "epymarl_llm layers only point down",
    "epymarl_llm_tools layers only point down",
)


def test_every_import_of_the_packages_points_down_their_layers():
    pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[test]')")
    # A fresh interpreter in the repository root analyses this clone's packages, whatever else is
    # installed, and leaves no cache behind.
    check = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    proc = subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in proc.stdout, proc.stdout
    for name in CONTRACTS:
        assert f"{name} KEPT" in proc.stdout, proc.stdout


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
            "import_module",
            "__import__",
        ):
            names.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return names


def test_no_module_of_the_training_package_imports_the_tooling():
    # Without import-linter too, and dynamic imports by a literal name included: what EPyMARL's
    # main.py loads must not reach the command line, the benchmarks or the report.
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in sorted((REPO_ROOT / "epymarl_llm").rglob("*.py"))
        for name in _imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] == "epymarl_llm_tools"
    ]
    assert offenders == []
    assert (REPO_ROOT / "epymarl_llm_tools" / "__main__.py").is_file()
    assert not (REPO_ROOT / "epymarl_llm" / "__main__.py").exists()  # `python -m epymarl_llm_tools` is the CLI
