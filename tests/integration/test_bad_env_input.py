"""Bad env input stops EPyMARL's real `main.py` within seconds, with the fix, before any env worker.

EPyMARL's parallel runner starts its env workers and then waits for them; a worker whose env cannot
be built dies and the run would hang. Needs EPYMARL_PATH and SMAClite (skipped otherwise).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from epymarl_llm.epymarl import install as inst

from .conftest import subprocess_env, user_site

LIMIT_S = 120  # a hang shows as a timeout; a good run of these checks takes seconds after start-up


@pytest.fixture
def installed(epymarl_copy, user_base):
    pytest.importorskip("smaclite", reason="SMAClite is not installed: pip install it from uoe-agents/smaclite")
    inst.install(epymarl_copy, site_dir=user_site(user_base))
    return epymarl_copy


def _main(checkout, user_base, env_config: str, updates: dict) -> tuple[int, str, float]:
    argv = [
        sys.executable,
        "src/main.py",
        "--config=lolm_mappo",
        f"--env-config={env_config}",
        "with",
        "llm_model=/nonexistent-model-never-loaded",
        "batch_size_run=2",
        "use_cuda=False",
        *[f"{k}={v}" for k, v in updates.items()],
    ]
    start = time.monotonic()
    proc = subprocess.run(
        argv, cwd=checkout, env=subprocess_env(user_base), capture_output=True, text=True, timeout=LIMIT_S
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def test_an_unknown_map_stops_with_the_known_maps(installed, user_base):
    rc, out, wall = _main(installed, user_base, "smaclite", {"env_args.map_name": "nope"})
    assert rc != 0
    assert "unknown SMAClite map 'nope'" in out and "3s5z_vs_3s6z" in out and "smaclite_custom" in out
    assert "env_worker" not in out  # stopped before EPyMARL started its workers
    assert wall < LIMIT_S


@pytest.mark.slow  # three EPyMARL start-ups; the unit tests of env_checks cover the same messages
def test_a_malformed_map_file_stops_with_the_json_line(installed, user_base, tmp_path):
    bad = tmp_path / "bad_map.json"
    bad.write_text('{\n  "name": "x",\n  oops\n}\n')
    rc, out, _ = _main(installed, user_base, "smaclite_custom", {"env_args.map_file": str(bad)})
    assert rc != 0 and "is not valid JSON" in out and "line 3" in out
    rc, out, _ = _main(installed, user_base, "smaclite_custom", {"env_args.map_file": str(tmp_path / "none.json")})
    assert rc != 0 and "does not exist" in out
    rc, out, _ = _main(installed, user_base, "smaclite_custom", {})
    assert rc != 0 and "env_args.map_file=/path/to/map.json" in out


@pytest.mark.slow
def test_smaclite_custom_runs_a_json_map_up_to_the_model(installed, user_base, tmp_path):
    """The shipped env yaml declares map_file: a valid map passes every env check; the (absent) model stops it."""
    from pathlib import Path

    import smaclite

    package = Path(smaclite.__file__).resolve().parent
    example = json.loads((package / "env" / "maps" / "smaclite_maps" / "example_custom_map.json").read_text())
    # SMAClite resolves custom_unit_path against the working directory: make it absolute.
    example["custom_unit_path"] = str(package / "env" / "units" / "smaclite_units")
    map_file = tmp_path / "my_map.json"
    map_file.write_text(json.dumps(example))
    rc, out, _ = _main(installed, user_base, "smaclite_custom", {"env_args.map_file": str(map_file)})
    assert "ConfigAddedError" not in out and "EnvArgsError" not in out and "UnknownMapError" not in out
    assert rc != 0 and "/nonexistent-model-never-loaded" in out  # got as far as loading the policy
