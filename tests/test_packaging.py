"""setup.py's `epymarl` and `smaclite` extras track the upstream requirements they replace."""

from __future__ import annotations

import ast
import os
import re
from importlib import metadata
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# What the `epymarl` extra leaves out of EPyMARL's requirements.txt, and why (setup.py says more).
LEFT_OUT = {
    "torchvision": "breaks transformers with a CPU torch",
    "pyyaml": "5.3.1 has no wheel for current Pythons; install_requires has pyyaml>=6",
    "torch": "install_requires",
    "sacred": "install_requires",
    "numpy": "install_requires",
    "matplotlib": "install_requires",
    "pytest": "the test extra",
}


def _setup_list(name: str) -> list[str]:
    tree = ast.parse((REPO_ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py defines no {name}")


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_the_epymarl_extra_has_everything_epymarl_requires_but_the_documented_exceptions():
    path = os.environ.get("EPYMARL_PATH")
    if not path or not (Path(path) / "requirements.txt").is_file():
        pytest.skip("EPYMARL_PATH is not set (or has no requirements.txt): nothing to compare the extra with")
    upstream = {
        _name(ln)
        for ln in (Path(path) / "requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    extra = {_name(r) for r in _setup_list("EPYMARL_REQUIREMENTS")}
    assert upstream - extra == set(LEFT_OUT) & upstream
    assert "torchvision" not in extra and "cloudpickle" in extra


def test_the_smaclite_extra_is_smaclites_requirements_with_a_working_rtree():
    try:
        upstream = metadata.requires("smaclite") or []
    except metadata.PackageNotFoundError:
        pytest.skip("SMAClite is not installed: nothing to compare the extra with")
    upstream = {_name(r) for r in upstream if "extra ==" not in r}
    extra = _setup_list("SMACLITE_REQUIREMENTS")
    assert {_name(r) for r in extra} == upstream
    assert "rtree>=1.1" in extra
