""".ci/check_ran.py: CI fails when the EPyMARL end-to-end tests all skipped although a checkout was found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FILE = "tests/integration/test_epymarl_e2e.py"


def _junit(tmp_path: Path, cases: str) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')
    return path


def _check(junit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / ".ci" / "check_ran.py"), str(junit), FILE], capture_output=True, text=True
    )


def test_all_skipped_fails_and_prints_the_skip_reason(tmp_path):
    junit = _junit(
        tmp_path,
        '<testcase classname="tests.integration.test_epymarl_e2e" name="test_a">'
        '<skipped message="EPYMARL_PATH is not set"/></testcase>',
    )
    proc = _check(junit)
    assert proc.returncode == 1 and "EPYMARL_PATH is not set" in proc.stderr


def test_none_collected_fails(tmp_path):
    proc = _check(_junit(tmp_path, '<testcase classname="tests.test_cli" name="test_x"/>'))
    assert proc.returncode == 1 and "none collected" in proc.stderr


def test_one_that_ran_passes(tmp_path):
    junit = _junit(
        tmp_path,
        '<testcase classname="tests.integration.test_epymarl_e2e" name="test_a"/>'
        '<testcase classname="tests.integration.test_epymarl_e2e" name="test_b">'
        '<skipped message="no SMAC"/></testcase>',
    )
    proc = _check(junit)
    assert proc.returncode == 0 and "1 ran, 1 skipped" in proc.stdout
