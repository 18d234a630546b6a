"""`epymarl-llm install` where it cannot write: one clear message, and nothing half-installed.

Read-only is made real, not mocked. As an ordinary user, `chmod a-w` does it. As root (CI), which
permissions do not stop, the install runs inside `unshare -r -m` with the folders bind-mounted
read-only, so every write fails with EROFS as on a read-only file system.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from epymarl_llm.epymarl import install as inst

from .fake_epymarl import make_fake_epymarl

REPO_ROOT = Path(__file__).resolve().parents[2]


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-r", "-m", "true"], capture_output=True).returncode == 0


def run_install_read_only(read_only: list[Path], argv: list[str]) -> subprocess.CompletedProcess:
    """Run `python -m epymarl_llm_tools install ARGV...` with every folder in `read_only` unwritable."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "epymarl_llm_tools", "install", *argv, "--no-doctor"]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for d in read_only for p in [d, *d.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
    if not _can_mount_read_only():
        pytest.skip("running as root without `unshare -r -m`: cannot make a folder read-only for root")
    mounts = " && ".join(
        f"mount --bind {shlex.quote(str(p))} {shlex.quote(str(p))} && mount -o remount,bind,ro {shlex.quote(str(p))}"
        for p in read_only
    )
    script = f"{mounts} && exec {shlex.join(cmd)}"
    return subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=120
    )


def _snapshot(*roots: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for r in roots if r.exists() for p in r.rglob("*") if p.is_file()}


def _assert_one_clear_message(proc: subprocess.CompletedProcess, *must: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("epymarl-llm install: cannot write") and "nothing was installed" in last, last
    for text in must:
        assert text in last, last


def test_read_only_site_dir_writes_nothing_into_the_checkout(tmp_path):
    checkout = make_fake_epymarl(tmp_path / "epymarl")
    site = tmp_path / "site"
    site.mkdir()
    before = _snapshot(checkout, site)
    proc = run_install_read_only([site], [str(checkout), "--site-dir", str(site)])
    _assert_one_clear_message(proc, str(site), "--site-dir", "python -m site --user-site")
    assert _snapshot(checkout, site) == before  # no yaml, no marker: nothing half-installed


def test_read_only_checkout_writes_no_pth(tmp_path):
    checkout = make_fake_epymarl(tmp_path / "epymarl")
    site = tmp_path / "site"  # does not exist yet: install would create it
    before = _snapshot(checkout)
    proc = run_install_read_only([checkout], [str(checkout), "--site-dir", str(site)])
    _assert_one_clear_message(proc, str(checkout / "src"), f"chmod -R u+w {checkout}")
    assert _snapshot(checkout) == before and not site.exists()


def test_a_complete_install_on_a_now_read_only_checkout_is_still_fine(tmp_path):
    """Nothing would change, so nothing needs writing: a second install must not fail."""
    checkout = make_fake_epymarl(tmp_path / "epymarl")
    site = tmp_path / "site"
    inst.install(checkout, site_dir=site)
    proc = run_install_read_only([checkout, site], [str(checkout), "--site-dir", str(site)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "unchanged" in proc.stdout
