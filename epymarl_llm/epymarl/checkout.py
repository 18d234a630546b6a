"""Recognise an EPyMARL checkout and the marker that `epymarl-llm install` leaves in it."""

from __future__ import annotations

from pathlib import Path

# Files every EPyMARL checkout has (uoe-agents/epymarl: `python src/main.py` is its entry point).
REQUIRED_FILES = ("src/main.py", "src/run.py", "src/config/default.yaml")
# Written by `epymarl-llm install`; the import hook registers the plugin only in checkouts carrying it.
MARKER_NAME = ".epymarl_llm"


class NotAnEpymarlCheckoutError(ValueError):
    """The given folder is not the root of an EPyMARL checkout."""


def epymarl_root(path: str | Path) -> Path:
    """The resolved root of the EPyMARL checkout at `path`, or a clear error.

    Accepts the checkout root or its `src/` folder (users often pass either).
    """
    root = Path(path).expanduser().resolve()
    if root.name == "src" and all((root.parent / f).is_file() for f in REQUIRED_FILES):
        root = root.parent
    if not root.is_dir():
        raise NotAnEpymarlCheckoutError(f"{root} does not exist; pass the folder of your EPyMARL clone")
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    if missing:
        raise NotAnEpymarlCheckoutError(
            f"{root} is not an EPyMARL checkout (missing {', '.join(missing)}); pass the root folder of a "
            "clone of https://github.com/uoe-agents/epymarl, the one that holds src/main.py"
        )
    return root


def marker_path(root: Path) -> Path:
    return root / "src" / MARKER_NAME


def algs_dir(root: Path) -> Path:
    return root / "src" / "config" / "algs"


def envs_dir(root: Path) -> Path:
    return root / "src" / "config" / "envs"
