""".ci/check_ran.py: CI fails when a layer it installed was skipped anyway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
E2E = "tests.integration.test_epymarl_e2e"


def _case(classname: str, name: str, skipped: str | None = None) -> str:
    inner = "" if skipped is None else f'<skipped message="{skipped}"/>'
    return f'<testcase classname="{classname}" name="{name}">{inner}</testcase>'


def _check(tmp_path: Path, cases: list[str], layers: str) -> subprocess.CompletedProcess:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{"".join(cases)}</testsuite></testsuites>'
    )
    script = str(REPO_ROOT / ".ci" / "check_ran.py")
    return subprocess.run([sys.executable, script, str(junit), "--layers", layers], capture_output=True, text=True)


def _ran_everywhere() -> list[str]:
    files = ("tests.learner.test_returns", E2E, "tests.transfer.test_transfer_e2e")
    files += ("tests.report.test_report_on_epymarl_runs", "tests.prompts.test_map_table")
    return [_case(f, "test_ok") for f in files + ("tests.prompts.test_sc2v2_layout",)]


def test_every_installed_layer_ran_passes(tmp_path):
    proc = _check(tmp_path, _ran_everywhere(), "epymarl smaclite smac smacv2")
    assert proc.returncode == 0, proc.stderr
    assert "layer smacv2: 0 problem(s)" in proc.stdout


def test_a_skip_that_names_an_installed_layer_fails_with_its_reason(tmp_path):
    cases = _ran_everywhere() + [_case("tests.test_doctor", "test_env", skipped="SMAClite is not installed")]
    proc = _check(tmp_path, cases, "epymarl smaclite")
    assert proc.returncode == 1 and "tests.test_doctor::test_env: SMAClite is not installed" in proc.stderr


def test_a_skip_of_a_layer_that_was_not_installed_passes(tmp_path):
    cases = _ran_everywhere() + [
        _case("tests.prompts.test_x", "test_y", skipped="SMAC (oxwhirl/smac) is not installed")
    ]
    assert _check(tmp_path, cases, "epymarl smaclite").returncode == 0


def test_smac_and_smaclite_and_smacv2_reasons_are_told_apart(tmp_path):
    cases = _ran_everywhere() + [_case("tests.prompts.test_x", "test_y", skipped="SMACv2 needs pysc2")]
    proc = _check(tmp_path, cases, "epymarl smaclite smacv2")
    assert proc.returncode == 1 and "layer smacv2" in proc.stderr and "layer smaclite" not in proc.stderr


def test_the_starcraft_binary_and_mongo_may_skip(tmp_path):
    cases = _ran_everywhere() + [
        _case("tests.integration.test_sc2v2_run", "test_run", skipped="needs the StarCraft II binary (SC2PATH)"),
        _case("tests.integration.test_mongo", "test_real", skipped="EPYMARL_LLM_MONGO_URL is not set: no MongoDB"),
    ]
    assert _check(tmp_path, cases, "epymarl smaclite smac smacv2").returncode == 0


def test_a_layer_file_whose_tests_all_skipped_fails(tmp_path):
    cases = [c for c in _ran_everywhere() if E2E not in c] + [_case(E2E, "test_a", skipped="too slow")]
    proc = _check(tmp_path, cases, "epymarl smaclite")
    assert proc.returncode == 1 and "test_epymarl_e2e.py: none of its 1 tests ran" in proc.stderr


def test_end_to_end_files_are_not_required_without_epymarl(tmp_path):
    assert _check(tmp_path, [_case("tests.prompts.test_layout", "test_a")], "smaclite").returncode == 0


def test_an_unknown_layer_is_refused_with_the_known_ones(tmp_path):
    proc = _check(tmp_path, _ran_everywhere(), "smaclit")
    assert proc.returncode == 2 and "choose from" in proc.stderr.splitlines()[-1]
