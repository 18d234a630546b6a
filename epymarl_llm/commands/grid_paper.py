#!/usr/bin/env python
"""Run the paper's experiment grid with EPyMARL, then the report (docs/EXPERIMENTS.md).

Phases, in order (a transfer needs its source checkpoint):
  single     every algorithm x map x seed from scratch; the plugin's runs save checkpoints
  zero-shot  the source checkpoint evaluated on the target map (evaluate=True), no training
  few-shot   the source checkpoint trained on the target map for a small budget, without KL
  report     `epymarl-llm report` over EPyMARL's results/sacred

    python scripts/run_paper_grid.py --epymarl ~/epymarl --seeds 1 2 3 --dry-run
    python scripts/run_paper_grid.py --epymarl ~/epymarl --seeds 1 2 3 --parallel 3
    python scripts/run_paper_grid.py --epymarl ~/epymarl --env-config sc2v2 --dry-run   # SMACv2 grid

Commands run with EPyMARL's root as working directory, so that Sacred's folders
(results/sacred/<name>/<map>/<id>) and checkpoints (results/models/<name>_seed<s>_<map>_<time>/<step>)
land in its results/ folder. Transfer commands find their checkpoint when they start; --dry-run
prints them with <...> placeholders.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PAPER_MAPS = ("3s_vs_4z", "3s5z", "8m_vs_9m", "5m_vs_6m", "10m_vs_11m", "3s_vs_5z", "3s5z_vs_3s6z", "MMM2")
# Simpler -> harder (paper section 5.4): growing disparity, symmetric -> asymmetric, other unit types.
# The paper's own pair names did not survive in its text: these six follow its stated design.
PAPER_PAIRS = (
    ("3s_vs_4z", "3s_vs_5z"),
    ("5m_vs_6m", "8m_vs_9m"),
    ("8m_vs_9m", "10m_vs_11m"),
    ("5m_vs_6m", "10m_vs_11m"),
    ("3s5z", "3s5z_vs_3s6z"),
    ("3s5z", "MMM2"),
)
# SMACv2 (--env-config=sc2v2): maps are EPyMARL's scenarios (src/config/envs/smacv2_configs), every
# episode draws new units. Transfer grows the teams, then the enemy's edge, within a race, and
# crosses races once (the unit-type embedding and the prompts are shared by name).
SC2V2_MAPS = ("protoss_5_vs_5", "protoss_10_vs_10", "terran_5_vs_5", "terran_10_vs_10", "zerg_5_vs_5", "zerg_10_vs_10")
SC2V2_PAIRS = (
    ("protoss_5_vs_5", "protoss_10_vs_10"),
    ("protoss_10_vs_10", "protoss_10_vs_11"),
    ("protoss_10_vs_10", "protoss_20_vs_20"),
    ("terran_5_vs_5", "terran_10_vs_10"),
    ("zerg_5_vs_5", "zerg_10_vs_10"),
    ("protoss_5_vs_5", "terran_5_vs_5"),
)
DEFAULT_GRIDS = {"sc2v2": (SC2V2_MAPS, SC2V2_PAIRS)}
PHASES = ("single", "zero-shot", "few-shot", "report")


@dataclass(frozen=True)
class Job:
    """One EPyMARL run. `source_map` set: a transfer run whose checkpoint is resolved at start."""

    phase: str
    algorithm: str
    map_name: str
    seed: int
    overrides: tuple[str, ...]
    source_map: str | None = None
    few_shot_steps: int | None = None  # few-shot: t_max = checkpoint step + this

    def argv(self, python: str, env_config: str, checkpoint: str | None = None, step: int | None = None) -> list[str]:
        with_args = [f"env_args.map_name={self.map_name}", f"seed={self.seed}", *self.overrides]
        if self.source_map is not None:
            with_args.append(
                f"checkpoint_path={checkpoint or f'<checkpoint of {self.algorithm} seed {self.seed} on {self.source_map}>'}"
            )
            if self.few_shot_steps is not None:
                # EPyMARL run.py resumes t_env at the checkpoint's step and stops at t_max.
                t_max = step + self.few_shot_steps if step is not None else f"<checkpoint step + {self.few_shot_steps}>"
                with_args.append(f"t_max={t_max}")
        return [python, "src/main.py", f"--config={self.algorithm}", f"--env-config={env_config}", "with", *with_args]


def build_jobs(args: argparse.Namespace) -> dict[str, list[Job]]:
    """The grid as jobs per phase; maps include every source and target of the pairs."""
    maps = list(dict.fromkeys([*args.maps, *(m for pair in args.pairs for m in pair)]))
    sources = {s for s, _ in args.pairs}
    extra = tuple(args.set)
    jobs: dict[str, list[Job]] = {phase: [] for phase in PHASES[:3]}
    for seed in args.seeds:
        for map_name in maps:
            for algorithm in [args.config, *args.baselines]:
                save = ("save_model=True",) if algorithm == args.config and map_name in sources else ()
                jobs["single"].append(Job("single", algorithm, map_name, seed, (f"t_max={args.t_max}", *save, *extra)))
        for source, target in args.pairs:
            jobs["zero-shot"].append(
                Job(
                    "zero-shot",
                    args.config,
                    target,
                    seed,
                    ("evaluate=True", f"test_nepisode={args.zero_shot_episodes}", "kl_mode=none", *extra),
                    source_map=source,
                )
            )
            jobs["few-shot"].append(
                Job(
                    "few-shot",
                    args.config,
                    target,
                    seed,
                    ("kl_mode=none", *extra),
                    source_map=source,
                    few_shot_steps=args.few_shot_t_max,
                )
            )
    return jobs


_STEP_DIR = re.compile(r"^\d+$")


def find_checkpoint(epymarl: Path, algorithm: str, seed: int, map_name: str) -> tuple[Path, int]:
    """The newest results/models/<name>_seed<seed>_<map>_<time> folder and its largest step."""
    # The time right after the map keeps 3s5z from matching 3s5z_vs_3s6z.
    token = re.compile(rf"^{re.escape(algorithm)}_seed{seed}_{re.escape(map_name)}_\d{{4}}-\d{{2}}-\d{{2}}")
    models = epymarl / "results" / "models"
    candidates = sorted(p for p in models.glob("*") if p.is_dir() and token.match(p.name)) if models.is_dir() else []
    for folder in reversed(candidates):
        steps = [int(p.name) for p in folder.iterdir() if p.is_dir() and _STEP_DIR.match(p.name)]
        if steps:
            return folder, max(steps)
    raise FileNotFoundError(
        f"no checkpoint of {algorithm} seed {seed} on {map_name} under {models}: run the single phase "
        f"first (it passes save_model=True for source maps)"
    )


def _command(job: Job, args: argparse.Namespace, resolve: bool) -> list[str]:
    if job.source_map is None or not resolve:
        return job.argv(args.python, args.env_config)
    folder, step = find_checkpoint(args.epymarl, job.algorithm, job.seed, job.source_map)
    return job.argv(args.python, args.env_config, str(folder), step)


def run_phase(jobs: list[Job], args: argparse.Namespace) -> int:
    """Run jobs, at most `--parallel` at once; returns how many failed (the report lists them)."""
    log_dir = args.epymarl / "results" / "grid_logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    pending, running, failed = list(jobs), [], 0
    while pending or running:
        while pending and len(running) < args.parallel:
            job = pending.pop(0)
            try:
                argv = _command(job, args, resolve=True)
            except FileNotFoundError as err:
                print(f"[skip] {job.phase} {job.algorithm} {job.map_name} seed {job.seed}: {err}", flush=True)
                failed += 1
                continue
            log = log_dir / f"{job.phase}_{job.algorithm}_{job.map_name}_seed{job.seed}.log"
            print(f"[start] {shlex.join(argv)}  > {log}", flush=True)
            with log.open("w") as handle:
                running.append((job, subprocess.Popen(argv, cwd=args.epymarl, stdout=handle, stderr=subprocess.STDOUT)))
        for item in list(running):
            job, proc = item
            if proc.poll() is not None:
                running.remove(item)
                failed += proc.returncode != 0
                print(
                    f"[{'done' if proc.returncode == 0 else 'FAILED'}] {job.phase} {job.algorithm} "
                    f"{job.map_name} seed {job.seed} (exit {proc.returncode})",
                    flush=True,
                )
        time.sleep(0.5 if running else 0)
    return failed


def report_argv(args: argparse.Namespace) -> list[str]:
    return [
        args.python,
        "-m",
        "epymarl_llm",
        "report",
        str(args.epymarl / "results" / "sacred"),
        "--out",
        str(args.out),
    ]


def parse_pair(text: str) -> tuple[str, str]:
    source, sep, target = text.partition(":")
    if not sep or not source or not target or source == target:
        raise argparse.ArgumentTypeError(f"a pair is SOURCE:TARGET with two different maps, got {text!r}")
    return source, target


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epymarl", type=Path, required=True, help="EPyMARL checkout (with the plugin installed)")
    p.add_argument(
        "--env-config",
        default="sc2",
        help="EPyMARL env config: sc2 (SMAC, needs SC2PATH), sc2v2 (SMACv2 scenarios) or smaclite",
    )
    p.add_argument("--config", default="lolm_mappo", help="the plugin's algorithm config (transferred)")
    p.add_argument("--baselines", nargs="*", default=["mappo"], help="built-in algorithms trained from scratch")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument(
        "--maps",
        nargs="*",
        default=None,
        help="single-task maps (pair maps are added); default: the paper's, or SC2V2_MAPS for sc2v2",
    )
    p.add_argument(
        "--pairs",
        nargs="*",
        type=parse_pair,
        default=None,
        metavar="SOURCE:TARGET",
        help="transfer pairs; default: the paper's, or SC2V2_PAIRS for sc2v2",
    )
    p.add_argument("--t-max", type=int, default=2_000_000, help="single-task training steps")
    p.add_argument("--few-shot-t-max", type=int, default=600_000, help="few-shot budget on the target (paper: 3e5-1e6)")
    p.add_argument("--zero-shot-episodes", type=int, default=100, help="test episodes of a zero-shot evaluation")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="extra Sacred overrides for every run")
    p.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    p.add_argument("--parallel", type=int, default=1, help="processes at once within a phase (1: sequential)")
    p.add_argument("--python", default=sys.executable, help="interpreter for EPyMARL and the report")
    p.add_argument("--out", type=Path, default=Path("report"), help="report folder")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    return p


def unknown_scenarios(args: argparse.Namespace) -> str | None:
    """With sc2v2, every map must be a scenario file of the checkout (EPyMARL's SMACv2Wrapper loads it)."""
    if args.env_config != "sc2v2":
        return None
    folder = args.epymarl / "src" / "config" / "envs" / "smacv2_configs"
    if not folder.is_dir():
        return None if args.dry_run else f"{folder} is missing: this EPyMARL has no SMACv2 scenarios"
    known = {p.stem for p in folder.glob("*.yaml")}
    maps = {*args.maps, *(m for pair in args.pairs for m in pair)}
    missing = sorted(maps - known)
    if missing:
        return (
            f"--env-config sc2v2: {', '.join(missing)} are not SMACv2 scenarios of {folder} "
            f"(it has {', '.join(sorted(known))})"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.parallel < 1:
        print("--parallel must be >= 1", file=sys.stderr)
        return 2
    args.epymarl = args.epymarl.expanduser().resolve()
    if not args.dry_run and not (args.epymarl / "src" / "main.py").is_file():
        print(f"{args.epymarl} is not an EPyMARL checkout (no src/main.py); pass --epymarl", file=sys.stderr)
        return 2
    default_maps, default_pairs = DEFAULT_GRIDS.get(args.env_config, (PAPER_MAPS, PAPER_PAIRS))
    args.maps = list(default_maps) if args.maps is None else args.maps
    args.pairs = list(default_pairs) if args.pairs is None else args.pairs
    bad = unknown_scenarios(args)
    if bad:
        print(bad, file=sys.stderr)
        return 2
    jobs = build_jobs(args)
    failed = 0
    for phase in args.phases:
        if phase == "report":
            argv_report = report_argv(args)
            print(f"# report\n{shlex.join(argv_report)}" if args.dry_run else f"[start] {shlex.join(argv_report)}")
            if not args.dry_run:
                failed += subprocess.run(argv_report, check=False).returncode != 0
            continue
        if args.dry_run:
            print(f"# {phase}: {len(jobs[phase])} runs (cd {shlex.quote(str(args.epymarl))})")
            for job in jobs[phase]:
                print(shlex.join(job.argv(args.python, args.env_config)))
            continue
        failed += run_phase(jobs[phase], args)
    if failed:
        print(f"{failed} commands failed; see results/grid_logs and the report's problems", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
