"""`epymarl-llm install` / `uninstall`: what is written where, and how it is undone.

Install writes three things, each tagged so that uninstall removes only what install wrote:
1. `DIR/src/config/algs/<name>.yaml` for every plugin algorithm yaml and
   `DIR/src/config/envs/<name>.yaml` for every plugin env yaml (`smaclite_custom`), first line
   `MARKER_LINE`; a file of the same name without that line is the user's and is never overwritten;
2. `DIR/src/.epymarl_llm`, the marker that switches the import hook on for this checkout;
3. `<site-packages>/epymarl_llm_hook.pth`, one `import` line that adds the hook at Python start-up.
   The hook is inert in checkouts without the marker, so uninstall keeps the `.pth` while another
   checkout still lists it (the `.pth` file's comment lines record the checkouts) and removes it with
   the last one.
Both commands are idempotent: a second install rewrites the same files, a second uninstall finds nothing.
"""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from epymarl_llm.epymarl.checkout import algs_dir, envs_dir, epymarl_root, marker_path

MARKER_LINE = "# installed by epymarl-llm: `epymarl-llm uninstall` removes this file; edits are lost on reinstall"
PTH_NAME = "epymarl_llm_hook.pth"
# One line, run by `site` at start-up. Guarded: if epymarl_llm is uninstalled while the .pth stays,
# Python starts normally instead of printing an error for every process.
PTH_IMPORT_LINE = (
    "import importlib.util as _u; "
    "_u.find_spec('epymarl_llm') is not None and __import__('epymarl_llm.epymarl.hook', fromlist=['install']).install()"
)
PTH_CHECKOUT_PREFIX = "# checkout: "


class InstallError(RuntimeError):
    """Install would overwrite a file that the plugin did not write."""


@dataclass
class InstallReport:
    root: Path
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"EPyMARL checkout: {self.root}"]
        out += [f"  wrote    {p}" for p in self.written]
        out += [f"  removed  {p}" for p in self.removed]
        out += [f"  kept     {p} (unchanged)" for p in self.unchanged]
        return out


def configs_dir():
    """The plugin's yaml folder: `epymarl_llm.configs` once pip-installed (setup.py maps `config/`
    there), else the source tree's `config/` (running from a clone without installing, or a second
    clone of the source put first on PYTHONPATH: its own yamls, not those of the editable install)."""
    source = Path(__file__).resolve().parents[2] / "config"
    if (source / "lolm_mappo.yaml").is_file():
        return source
    try:
        return resources.files("epymarl_llm.configs")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "config"


def plugin_yamls() -> dict[str, str]:
    """{file name: text} of the plugin's EPyMARL algorithm yamls."""
    return {p.name: p.read_text(encoding="utf-8") for p in configs_dir().iterdir() if p.name.endswith(".yaml")}


def plugin_env_yamls() -> dict[str, str]:
    """{file name: text} of the plugin's EPyMARL env yamls (`config/envs/`, e.g. smaclite_custom)."""
    folder = configs_dir() / "envs"
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name.endswith(".yaml")}


def default_site_dir() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _written_by_us(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as f:
            return f.readline().rstrip("\n") == MARKER_LINE
    except (OSError, UnicodeDecodeError):
        return False


def _write_if_changed(path: Path, text: str, report: InstallReport) -> None:
    if _same_text(path, text):
        report.unchanged.append(path)
        return
    path.write_text(text, encoding="utf-8")
    report.written.append(path)


def _pth_checkouts(pth: Path) -> list[str]:
    if not pth.is_file():
        return []
    return [
        ln[len(PTH_CHECKOUT_PREFIX) :]
        for ln in pth.read_text(encoding="utf-8").splitlines()
        if ln.startswith(PTH_CHECKOUT_PREFIX)
    ]


def _pth_text(checkouts: list[str]) -> str:
    lines = ["# epymarl-llm: EPyMARL registration hook (see `epymarl-llm uninstall`)"]
    lines += [PTH_CHECKOUT_PREFIX + c for c in sorted(set(checkouts))]
    return "\n".join(lines + [PTH_IMPORT_LINE, ""])


def _unwritable(path: Path) -> Path | None:
    """The file or folder that stops this process from writing `path`, or None when it can.

    An existing file must be writable itself; a new one needs its nearest existing folder (the
    folders in between are created). `os.access` sees read-only mounts and permissions alike.
    """
    if path.exists():
        return None if os.access(path, os.W_OK) else path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return None if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK) else parent


def _check_writable(plan: dict[Path, str], root: Path, site: Path) -> None:
    """Raise one `InstallError` naming every place install cannot write, before it writes anything."""
    blocked = sorted({b for p, text in plan.items() if not _same_text(p, text) and (b := _unwritable(p))})
    if not blocked:
        return
    fixes = []
    if any(b == root or root in b.parents for b in blocked):
        fixes.append(f"make the checkout writable (`chmod -R u+w {root}`) or install into a writable clone")
    if any(b == site or site in b.parents or b in site.parents for b in blocked):
        fixes.append(
            "pass `--site-dir` a folder you can write that Python reads .pth files from, e.g. "
            '`--site-dir "$(python -m site --user-site)"`'
        )
    raise InstallError(
        f"cannot write {', '.join(map(str, blocked))} (read-only); nothing was installed. Fix: "
        + "; ".join(fixes or ["make those folders writable"])
    )


def _same_text(path: Path, text: str) -> bool:
    try:
        return path.is_file() and path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def install(path: str | Path, site_dir: str | Path | None = None) -> InstallReport:
    """Make `--config=lolm_mappo` (and the ablations) available to the checkout's `src/main.py`.

    Everything is checked before the first write (clashing user files, read-only folders), so a
    failed install leaves nothing behind.
    """
    root = epymarl_root(path)
    report = InstallReport(root)
    files = {algs_dir(root) / n: t for n, t in plugin_yamls().items()}
    files.update({envs_dir(root) / n: t for n, t in plugin_env_yamls().items()})
    clashes = [p for p in files if p.exists() and not _written_by_us(p)]
    if clashes:  # check all before writing anything: no half-done install
        raise InstallError(
            f"refusing to overwrite {', '.join(map(str, clashes))}: not written by epymarl-llm; "
            "rename or remove them, then run install again"
        )
    site = (Path(site_dir) if site_dir is not None else default_site_dir()).expanduser().resolve()
    pth = site / PTH_NAME
    plan = {file: f"{MARKER_LINE}\n{text}" for file, text in sorted(files.items())}
    plan[marker_path(root)] = f"epymarl-llm is installed here; import hook: {pth}\n"
    plan[pth] = _pth_text(_pth_checkouts(pth) + [str(root)])
    _check_writable(plan, root, site)
    site.mkdir(parents=True, exist_ok=True)
    for file, text in plan.items():
        _write_if_changed(file, text, report)
    return report


def uninstall(path: str | Path, site_dir: str | Path | None = None) -> InstallReport:
    """Remove what `install` wrote into the checkout; drop the `.pth` when no checkout uses it."""
    root = epymarl_root(path)
    report = InstallReport(root)
    for yaml_path in sorted([*algs_dir(root).glob("*.yaml"), *envs_dir(root).glob("*.yaml")]):
        if _written_by_us(yaml_path):
            yaml_path.unlink()
            report.removed.append(yaml_path)
    marker = marker_path(root)
    if marker.is_file():
        marker.unlink()
        report.removed.append(marker)
    pth = (Path(site_dir) if site_dir is not None else default_site_dir()) / PTH_NAME
    if pth.is_file():
        remaining = [c for c in _pth_checkouts(pth) if c != str(root) and Path(c, "src", ".epymarl_llm").is_file()]
        if remaining:
            _write_if_changed(pth, _pth_text(remaining), report)
        else:
            pth.unlink()
            report.removed.append(pth)
    return report
