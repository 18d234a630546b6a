"""The import hook that `epymarl-llm install` activates through a one-line `.pth` file.

Python runs the `.pth` line at start-up in every process of the environment, so this module
must cost nearly nothing: it imports only the standard library and adds one finder to
`sys.meta_path`. The finder looks at five module names (EPyMARL's registry packages
`controllers`, `learners`, `runners`, `modules.agents`, `modules.critics`); for any other import it
returns at once. When one of those is imported from an EPyMARL `src/` that carries the install
marker (`src/.epymarl_llm`), the finder lets the normal loader run the module and then adds the
plugin's registry entries (`registration.register_module`). Checkouts without the marker, and every
other program, are untouched. When `controllers` registers and Sacred is already imported (EPyMARL's
`main.py` imports it first), the MongoDB options of the plugin are attached to Sacred (see `sacred_hooks`).
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

# Must equal registry_names.REGISTRY_NAMES' keys; duplicated so that this module imports nothing of ours.
WATCHED = frozenset({"controllers", "learners", "runners", "modules.agents", "modules.critics"})
MARKER_NAME = ".epymarl_llm"


class _RegisteringLoader(importlib.abc.Loader):
    """Wraps the real loader: runs the module, then registers the plugin's entries in it."""

    def __init__(self, loader: importlib.abc.Loader, fullname: str):
        self._loader = loader
        self._fullname = fullname

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        from epymarl_llm.epymarl import registration

        registration.register_module(self._fullname, module)
        if self._fullname == "controllers" and "sacred" in sys.modules:
            from epymarl_llm.epymarl import sacred_hooks

            sacred_hooks.install()

    def __getattr__(self, name: str):  # get_code, get_source, is_package, ... of the real loader
        return getattr(self._loader, name)


class EpymarlRegistryFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder that decorates EPyMARL's registry modules in marked checkouts."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    def find_spec(self, fullname: str, path=None, target=None) -> ModuleSpec | None:
        if fullname not in WATCHED or fullname in self._busy:
            return None
        self._busy.add(fullname)  # the other finders must not call back into this one
        try:
            spec = _find_with_other_finders(self, fullname, path, target)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None or not spec.origin or not _is_marked(spec.origin, fullname):
            return None
        spec.loader = _RegisteringLoader(spec.loader, fullname)
        return spec


def _find_with_other_finders(me, fullname, path, target) -> ModuleSpec | None:
    for finder in sys.meta_path:
        if finder is me or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _is_marked(origin: str, fullname: str) -> bool:
    """`origin` is `<src>/controllers/__init__.py` or `<src>/modules/agents/__init__.py`."""
    src = os.path.dirname(origin)
    for _ in range(fullname.count(".") + 1):
        src = os.path.dirname(src)
    return os.path.isfile(os.path.join(src, MARKER_NAME))


def install() -> None:
    """Add the finder once per process (the `.pth` line calls this)."""
    if not any(isinstance(f, EpymarlRegistryFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, EpymarlRegistryFinder())


def uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, EpymarlRegistryFinder)]
