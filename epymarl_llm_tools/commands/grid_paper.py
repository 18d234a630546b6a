"""The paper's grid as the experiment runner's jobs (docs/EXPERIMENTS.md).

Phase 1 trains every algorithm x map x seed from scratch (the plugin's runs on source maps save
checkpoints); phase 2 evaluates each source checkpoint on its target (zero-shot, `evaluate=True`)
and trains it there for a small budget without KL (few-shot); the single-task runs on the
targets are the from-scratch reference. Jobs run in EPyMARL's root, so Sacred's folders
(results/sacred/<name>/<map>/<id>) and checkpoints (results/models/...) land in its results/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .grid_job import GridJob

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
KINDS = ("single", "zero-shot", "few-shot")


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--phases", nargs="+", choices=(*KINDS, "report"), default=[*KINDS, "report"], help="what to run")
    p.add_argument("--out", type=Path, default=Path("report"), help="report folder")


def resolve_defaults(args: argparse.Namespace) -> str | None:
    """Fill the default maps and pairs of the env config; returns an error, or None."""
    args.epymarl = args.epymarl.expanduser().resolve()
    if not args.dry_run and not (args.epymarl / "src" / "main.py").is_file():
        return f"{args.epymarl} is not an EPyMARL checkout (no src/main.py); pass --epymarl"
    default_maps, default_pairs = DEFAULT_GRIDS.get(args.env_config, (PAPER_MAPS, PAPER_PAIRS))
    args.maps = list(default_maps) if args.maps is None else args.maps
    args.pairs = list(default_pairs) if args.pairs is None else args.pairs
    return unknown_scenarios(args)


def plan(args: argparse.Namespace) -> list[GridJob]:
    """The grid's jobs: maps include every source and target of the pairs; `--phases` filters."""
    maps = list(dict.fromkeys([*args.maps, *(m for pair in args.pairs for m in pair)]))
    sources = {s for s, _ in args.pairs}
    jobs: list[GridJob] = []
    for seed in args.seeds:
        for map_name in maps:
            for algorithm in [args.config, *args.baselines]:
                save = ("save_model=True",) if algorithm == args.config and map_name in sources else ()
                jobs.append(_job(args, "single", algorithm, map_name, seed, (f"t_max={args.t_max}", *save)))
        for source, target in args.pairs:
            parent = _log(args, "single", args.config, source, seed)
            zero = ("evaluate=True", f"test_nepisode={args.zero_shot_episodes}", "kl_mode=none")
            jobs.append(_job(args, "zero-shot", args.config, target, seed, zero, parent_log=parent))
            few = dict(parent_log=parent, few_shot_steps=args.few_shot_t_max)
            jobs.append(_job(args, "few-shot", args.config, target, seed, ("kl_mode=none",), **few))
    return [j for j in jobs if j.label.split("/", 1)[0] in args.phases]


def _log(args: argparse.Namespace, kind: str, algorithm: str, map_name: str, seed: int) -> str:
    return str(log_dir(args) / f"{kind}_{algorithm}_{map_name}_seed{seed}.log")


def log_dir(args: argparse.Namespace) -> Path:
    return args.epymarl / "results" / "grid_logs"


def _job(args, kind: str, algorithm: str, map_name: str, seed: int, updates: tuple, **transfer) -> GridJob:
    return GridJob(
        label=f"{kind}/{algorithm}/{map_name}/s{seed}",
        phase=1 if kind == "single" else 2,
        command=(args.python, "src/main.py", f"--config={algorithm}", f"--env-config={args.env_config}"),
        with_args=(f"env_args.map_name={map_name}", f"seed={seed}", *updates, *args.set),
        cwd=str(args.epymarl),
        log=_log(args, kind, algorithm, map_name, seed),
        **transfer,
    )


def parse_pair(text: str) -> tuple[str, str]:
    source, sep, target = text.partition(":")
    if not sep or not source or not target or source == target:
        raise argparse.ArgumentTypeError(f"a pair is SOURCE:TARGET with two different maps, got {text!r}")
    return source, target


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
