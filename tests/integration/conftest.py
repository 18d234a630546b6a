"""Fixtures for the EPyMARL integration tests: a private copy of the user's EPyMARL checkout.

Tests never install into the checkout named by EPYMARL_PATH, nor into the real site-packages:
they copy the checkout into tmp_path and point the import hook's `.pth` at a private user site
(PYTHONUSERBASE), which Python's `site` processes like site-packages.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from epymarl_llm_tools.commands.learning_runs import user_site

REPO_ROOT = Path(__file__).resolve().parents[2]


def epymarl_source() -> Path:
    path = os.environ.get("EPYMARL_PATH")
    if not path:
        pytest.skip("EPYMARL_PATH is not set: point it at an EPyMARL clone to run the EPyMARL tests")
    root = Path(path)
    if not (root / "src" / "main.py").is_file():
        pytest.skip(f"EPYMARL_PATH={path} holds no src/main.py")
    return root


def pristine_copy(source: Path, dest: Path) -> Path:
    """Copy an EPyMARL checkout's sources (no .git, no results) as a fresh clone would be.

    The user's checkout may carry this plugin's install (the README's main job installs it, and its
    `.pth` hook in the environment then acts on every checkout with the marker). The copy drops
    that install, so each test starts from an uninstalled checkout and installs what it needs.
    """
    from epymarl_llm.epymarl import install as inst

    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git", "results", "__pycache__"))
    inst.uninstall(dest, site_dir=dest.parent / "no-site")  # only the copy's files; no .pth there
    return dest


@pytest.fixture(scope="session")
def epymarl_master_copy(tmp_path_factory) -> Path:
    """One pristine copy per session."""
    return pristine_copy(epymarl_source(), tmp_path_factory.mktemp("epymarl") / "epymarl")


@pytest.fixture
def epymarl_copy(epymarl_master_copy, tmp_path) -> Path:
    dest = tmp_path / "epymarl"
    shutil.copytree(epymarl_master_copy, dest)
    return dest


@pytest.fixture
def user_base(tmp_path) -> Path:
    return tmp_path / "userbase"


def _site_loader(user_base: Path) -> Path:
    """A folder holding a `sitecustomize.py` that processes the private site dir's `.pth` files.

    Python processes `.pth` files only in site dirs. The user site is one, but a virtualenv turns
    it off (`site.ENABLE_USER_SITE` is False there), so a child interpreter would never see the
    hook. `site.addsitedir` is the call `site.py` itself makes for every site-packages folder, so
    running it from `sitecustomize` (imported at start-up, after site-packages) reproduces an
    installed `.pth` exactly, in a venv or not. The user site is switched off in the child so the
    `.pth` is never processed twice.
    """
    loader = user_base / "site_loader"
    loader.mkdir(parents=True, exist_ok=True)
    (loader / "sitecustomize.py").write_text(
        f"import site\nsite.addsitedir({str(user_site(user_base))!r})\n", encoding="utf-8"
    )
    return loader


def subprocess_env(user_base: Path, **extra: str) -> dict[str, str]:
    """Env for a child Python that sees this worktree's package and the private site dir's hook."""
    env = dict(os.environ)
    env["PYTHONUSERBASE"] = str(user_base)
    env["PYTHONNOUSERSITE"] = "1"
    paths = (str(_site_loader(user_base)), str(REPO_ROOT), env.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    env.update(extra)
    return env
