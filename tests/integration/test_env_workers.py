"""Env checks before workers start, a dead env worker stopping the run, and workers dying with the run."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import pytest

from epymarl_llm.epymarl.env_checks import EnvArgsError, check_env_config
from epymarl_llm.epymarl.workers import DeadWorker, EnvWorkerError, WorkerWatch
from epymarl_llm.prompts.errors import UnknownMapError


def test_unknown_maps_list_the_known_ones():
    with pytest.raises(UnknownMapError, match=r"unknown SMAClite map 'nope'.*3s5z_vs_3s6z.*smaclite_custom"):
        check_env_config("smaclite", {"map_name": "nope", "time_limit": 150})
    with pytest.raises(UnknownMapError, match=r"unknown SMAC map 'nope'.*corridor"):
        check_env_config("sc2", {"map_name": "nope"})


def test_map_file_errors_name_the_fix(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "name": "x",\n  oops\n}\n')
    with pytest.raises(ValueError, match="not valid JSON.*line 3"):
        check_env_config("smaclite", {"map_name": "custom", "map_file": str(bad), "time_limit": 150})
    with pytest.raises(EnvArgsError, match="does not exist"):
        check_env_config("smaclite", {"map_name": "custom", "map_file": str(tmp_path / "no.json"), "time_limit": 150})
    with pytest.raises(EnvArgsError, match="needs a JSON map"):
        check_env_config("smaclite", {"map_name": "custom", "map_file": None, "time_limit": 150})
    with pytest.raises(EnvArgsError, match="only under map_name=custom"):
        check_env_config("smaclite", {"map_name": "3s5z", "map_file": str(bad), "time_limit": 150})
    with pytest.raises(EnvArgsError, match="SMAClite option"):
        check_env_config("sc2", {"map_name": "3s5z", "map_file": str(bad)})
    with pytest.raises(EnvArgsError, match="map_name is not set"):
        check_env_config("smaclite", {"map_name": None})


def test_env_args_the_env_does_not_take_are_refused(monkeypatch):
    from .conftest import epymarl_source

    src = str(epymarl_source() / "src")
    pytest.importorskip("smac", reason="SMAC is not installed")
    monkeypatch.syspath_prepend(src)
    with pytest.raises(EnvArgsError, match=r"env_args obs_own_healht not taken by sc2's env.*obs_own_health"):
        check_env_config("sc2", {"map_name": "3s5z", "obs_own_healht": True})
    check_env_config("sc2", {"map_name": "3s5z", "obs_own_health": True, "difficulty": "7"})
    pytest.importorskip("smaclite", reason="SMAClite is not installed")
    with pytest.raises(EnvArgsError, match="env_args time_limit missing"):
        check_env_config("smaclite", {"map_name": "3s5z"})
    assert check_env_config("smaclite", {"map_name": "3s5z", "time_limit": 150, "use_cpp_rvo2": False}).n_agents == 8


def _dies_at_once(conn):
    raise SystemExit(3)


def test_a_dead_worker_wakes_the_waiting_parent_with_a_clear_error():
    """As EPyMARL's ParallelRunner: parent waits in recv() on a worker that died; it must not hang."""
    ctx = mp.get_context("fork")
    parent_conn, worker_conn = ctx.Pipe()
    runner = SimpleNamespace()
    watch = WorkerWatch(runner)
    runner.worker_conns = (worker_conn,)
    runner.ps = [ctx.Process(target=_dies_at_once, args=(worker_conn,), daemon=True)]
    runner.ps[0].start()
    start = time.monotonic()
    assert parent_conn.poll(10), "the parent's recv() would hang"
    data = parent_conn.recv()
    assert time.monotonic() - start < 10
    assert isinstance(data, DeadWorker)
    with pytest.raises(EnvWorkerError, match="env worker 0 exited with code 3"):
        data["episode_limit"]
    with pytest.raises(EnvWorkerError):
        set(data)
    watch.stop()


def test_a_stopped_watch_ignores_workers_that_exit_on_close():
    ctx = mp.get_context("fork")
    parent_conn, worker_conn = ctx.Pipe()
    runner = SimpleNamespace(worker_conns=(worker_conn,))
    watch = WorkerWatch(runner)
    watch.stop()
    runner.ps = [ctx.Process(target=_dies_at_once, args=(worker_conn,), daemon=True)]
    runner.ps[0].start()
    runner.ps[0].join(5)
    assert not parent_conn.poll(1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method and /proc")
def test_workers_exit_when_their_parent_is_killed(tmp_path):
    """SIGKILL the run's process: its forked workers must not stay behind as orphans."""
    script = textwrap.dedent("""
        import multiprocessing as mp, sys, time
        from epymarl_llm.epymarl.workers import exit_children_with_parent

        def worker(conn):
            conn.recv()  # blocks, as EPyMARL's env_worker does

        hook = exit_children_with_parent()
        ctx = mp.get_context("fork")
        a, b = ctx.Pipe()
        p = ctx.Process(target=worker, args=(b,), daemon=True)
        p.start()
        print(p.pid, flush=True)
        time.sleep(600)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(os.getcwd()), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    child = int(proc.stdout.readline())
    time.sleep(0.5)
    assert _alive(child)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), f"worker {child} outlived its killed parent"


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, reaped by init soon, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
