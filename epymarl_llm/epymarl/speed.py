"""Env steps per second of `--config=lolm_mappo` against `--config=mappo` in one EPyMARL checkout.

    python -m epymarl_llm.epymarl.speed EPYMARL_DIR --llm-model DIR [--map 3s5z] [--t-max 2000]

Runs EPyMARL's own `src/main.py` twice with the same env, runner width and budget, reads each run's
Sacred record (start/stop time in run.json, the last logged t_env in metrics.json) and prints
steps/s of both and their ratio. Training time is included: it is the speed a researcher sees.
The checkout must be installed (`epymarl-llm install EPYMARL_DIR`).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

SHARED = ["env_args.time_limit=40", "batch_size_run=2", "batch_size=2", "buffer_size=2", "test_nepisode=2",
          "test_interval=100000", "log_interval=20", "runner_log_interval=20", "learner_log_interval=20",
          "use_cuda=False"]


def _newest_run(sacred_dir: Path, before: set[Path]) -> Path:
    new = sorted(set(sacred_dir.glob("[0-9]*")) - before, key=lambda p: int(p.name))
    if not new:
        raise RuntimeError(f"no new Sacred run in {sacred_dir}")
    return new[-1]


def steps_per_second(run_dir: Path) -> tuple[int, float]:
    """(env steps reached, steps/s over the Sacred run's start..stop)."""
    run = json.loads((run_dir / "run.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    steps = max(max(m["steps"]) for m in metrics.values() if m["steps"])
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    seconds = (datetime.strptime(run["stop_time"], fmt) - datetime.strptime(run["start_time"], fmt)).total_seconds()
    return steps, steps / seconds


def run_config(checkout: Path, config: str, map_name: str, updates: list[str], env: dict | None = None) -> Path:
    sacred_dir = checkout / "results" / "sacred" / config / map_name
    before = set(sacred_dir.glob("[0-9]*")) if sacred_dir.is_dir() else set()
    argv = [sys.executable, "src/main.py", f"--config={config}", "--env-config=smaclite", "with",
            f"env_args.map_name={map_name}", *updates]
    proc = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return _newest_run(sacred_dir, before)


def measure(checkout: Path, llm_model: str, map_name: str = "3s5z", t_max: int = 2000,
            threads: int | None = None, env: dict | None = None) -> dict[str, float]:
    common = [*SHARED, f"t_max={t_max}"]
    lolm = run_config(checkout, "lolm_mappo", map_name,
                      [*common, "runner=lolm_parallel", f"llm_model={llm_model}"]
                      + ([f"llm_cpu_threads={threads}"] if threads else []), env)
    mappo = run_config(checkout, "mappo", map_name, [*common, "runner=parallel"], env)
    (lolm_steps, lolm_sps), (mappo_steps, mappo_sps) = steps_per_second(lolm), steps_per_second(mappo)
    return {"lolm_steps": lolm_steps, "lolm_steps_per_s": lolm_sps, "mappo_steps": mappo_steps,
            "mappo_steps_per_s": mappo_sps, "ratio": lolm_sps / mappo_sps}


def format_result(r: dict[str, float], map_name: str) -> str:
    return (f"smaclite {map_name}: lolm_mappo {r['lolm_steps_per_s']:.1f} env steps/s ({r['lolm_steps']} steps), "
            f"mappo {r['mappo_steps_per_s']:.1f} env steps/s ({r['mappo_steps']} steps); "
            f"lolm_mappo / mappo = {r['ratio']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("epymarl_dir", type=Path)
    parser.add_argument("--llm-model", required=True, help="hub name or folder (e.g. from `epymarl-llm make-tiny-model`)")
    parser.add_argument("--map", default="3s5z")
    parser.add_argument("--t-max", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None, help="llm_cpu_threads for the plugin run")
    args = parser.parse_args(argv)
    print(format_result(measure(args.epymarl_dir.resolve(), args.llm_model, args.map, args.t_max, args.threads), args.map))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
