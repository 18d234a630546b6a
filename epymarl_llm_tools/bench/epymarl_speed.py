"""Env steps per second of `--config=lolm_mappo` against `--config=mappo` in one EPyMARL checkout.

    epymarl-llm bench epymarl EPYMARL_DIR --llm-model DIR [--map 3s5z] [--t-max 2000]
        [--variant NAME:KEY=VALUE,KEY=VALUE ...]

Runs EPyMARL's own `src/main.py` twice with the same env, runner width and budget, reads each run's
Sacred record (start/stop time in run.json, the last logged t_env in metrics.json) and prints
steps/s of both and their ratio. Training time is included: it is the speed a researcher sees.
The checkout must be installed (`epymarl-llm install EPYMARL_DIR`). Each `--variant` is one more
lolm_mappo run with its Sacred updates (e.g. `today:pi_old_from_rollout=False,number_format=percent`,
`top1:lora_layers=1`); every variant's speed is printed against mappo's and against the first one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

SHARED = [
    "env_args.time_limit=40",
    "batch_size_run=2",
    "batch_size=2",
    "buffer_size=2",
    "test_nepisode=2",
    "test_interval=100000",
    "log_interval=20",
    "runner_log_interval=20",
    "learner_log_interval=20",
    "use_cuda=False",
]


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
    argv = [
        sys.executable,
        "src/main.py",
        f"--config={config}",
        "--env-config=smaclite",
        "with",
        f"env_args.map_name={map_name}",
        *updates,
    ]
    proc = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return _newest_run(sacred_dir, before)


def measure(
    checkout: Path,
    llm_model: str,
    map_name: str = "3s5z",
    t_max: int = 2000,
    threads: int | None = None,
    env: dict | None = None,
    variants: list[tuple[str, list[str]]] | None = None,
) -> dict:
    """Steps/s of mappo and of each lolm_mappo variant (name, Sacred updates); default one plain run."""
    common = [*SHARED, f"t_max={t_max}"]
    out: dict = {"variants": {}}
    for name, updates in variants or [("lolm_mappo", [])]:
        run = run_config(
            checkout,
            "lolm_mappo",
            map_name,
            [*common, "runner=lolm_parallel", f"llm_model={llm_model}", *updates]
            + ([f"llm_cpu_threads={threads}"] if threads else []),
            env,
        )
        steps, sps = steps_per_second(run)
        out["variants"][name] = {"steps": steps, "steps_per_s": sps, "updates": updates}
    mappo = run_config(checkout, "mappo", map_name, [*common, "runner=parallel"], env)
    out["mappo_steps"], out["mappo_steps_per_s"] = steps_per_second(mappo)
    first = next(iter(out["variants"].values()))["steps_per_s"]
    for r in out["variants"].values():
        r["ratio_to_mappo"], r["ratio_to_first"] = r["steps_per_s"] / out["mappo_steps_per_s"], r["steps_per_s"] / first
    # The single-variant keys of earlier versions.
    only = next(iter(out["variants"].values()))
    out.update(lolm_steps=only["steps"], lolm_steps_per_s=only["steps_per_s"], ratio=only["ratio_to_mappo"])
    return out


def parse_variant(text: str) -> tuple[str, list[str]]:
    """ "top1:lora_layers=1,lower_cache_mb=2048" -> ("top1", ["lora_layers=1", "lower_cache_mb=2048"])."""
    name, sep, rest = text.partition(":")
    updates = [u.strip() for u in rest.split(",") if u.strip()]
    if not name or not sep or any("=" not in u for u in updates):
        raise ValueError(f"--variant takes NAME:KEY=VALUE[,KEY=VALUE...], got {text!r}")
    return name, updates


def format_result(r: dict, map_name: str) -> str:
    lines = [f"smaclite {map_name}: mappo {r['mappo_steps_per_s']:.2f} env steps/s ({r['mappo_steps']} steps)"]
    for name, v in r["variants"].items():
        lines.append(
            f"  lolm_mappo {name:12s} {v['steps_per_s']:7.3f} env steps/s ({v['steps']} steps); "
            f"/ mappo = {v['ratio_to_mappo']:.3f}; / first = {v['ratio_to_first']:.2f}x"
            + (f"  [{' '.join(v['updates'])}]" if v["updates"] else "")
        )
    return "\n".join(lines)


HELP = __doc__.splitlines()[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("epymarl_dir", type=Path)
    parser.add_argument(
        "--llm-model", required=True, help="hub name or folder (e.g. from `epymarl-llm make-tiny-model`)"
    )
    parser.add_argument("--map", default="3s5z")
    parser.add_argument("--t-max", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None, help="llm_cpu_threads for the plugin run")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="a lolm_mappo run with these Sacred updates (repeatable; default one plain run)",
    )


def run(args: argparse.Namespace) -> int:
    variants = [parse_variant(v) for v in args.variant] or None
    result = measure(args.epymarl_dir.resolve(), args.llm_model, args.map, args.t_max, args.threads, variants=variants)
    print(format_result(result, args.map))
    return 0
