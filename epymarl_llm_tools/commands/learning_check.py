"""`epymarl-llm learning-check --out DIR`: does LoLM-MARL learn, and transfer? Real EPyMARL runs.

It runs EPyMARL's own `src/main.py` in a private copy of the checkout (never the user's own) on
an easy SMAClite map: lolm_mappo and mappo with the same map, budget and seeds, optionally
lolm_mappo_no_kl (the KL term's job), then a zero-shot evaluation of each seed's checkpoint on
a second map against an untrained policy of the same shape, a few-shot run from the checkpoint
and a from-scratch run there. It ends with `epymarl-llm report` over all of it and a
`summary.json` of first/last evaluations, wall times and load averages.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

from .grid_options import add_executor_arguments, slurm_options
from .grid_runner import print_outcome, print_plan, print_submitted, run_local, run_report, submit_slurm

HELP = "train lolm_mappo and mappo on an easy SMAClite map with real EPyMARL runs, test transfer, report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_input_arguments(parser)
    _add_budget_arguments(parser)
    _add_run_choice_arguments(parser)
    add_executor_arguments(parser)


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Where things are: the work folder, the EPyMARL checkout, the model and the maps."""
    parser.add_argument(
        "--show",
        type=Path,
        metavar="SACRED_DIR",
        default=None,
        help="only print every run's test curves found under a Sacred folder, as Markdown",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="work folder: private EPyMARL copy, run logs, summary.json and report/"
    )
    parser.add_argument(
        "--epymarl",
        metavar="DIR",
        default=None,
        help="EPyMARL checkout to copy (default: $EPYMARL_PATH); it is never modified",
    )
    parser.add_argument(
        "--llm-model",
        metavar="DIR_OR_HUB_NAME",
        default=None,
        help="local model folder, hub name (Qwen/Qwen3-0.6B when its weights are cached), smollm2-135m "
        "(pretrained, offline) or a .gguf file; "
        "default: a small random model made with make-tiny-model under --out",
    )
    parser.add_argument(
        "--tiny-shape",
        default="small",
        choices=("tiny", "small"),
        help="shape of the model made when --llm-model is not given (default small)",
    )
    parser.add_argument(
        "--map",
        default="2s_vs_1z",
        help="training map (SMAClite preset or a --map-file name; default 2s_vs_1z, shipped in maps/smaclite/)",
    )
    parser.add_argument(
        "--target-map",
        default="3s_vs_2z",
        help="second map, with more units, for zero-shot and few-shot transfer (default 3s_vs_2z, "
        "a map this project ships in maps/smaclite/)",
    )
    parser.add_argument(
        "--map-file",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a SMAClite JSON map to use under NAME (repeatable); run with env config smaclite_custom",
    )


def _add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """How long and how wide each run is: seeds, steps, tests, envs, epochs."""
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--t-max", type=int, default=2000, help="env steps per training run (default 2000)")
    parser.add_argument(
        "--few-shot-t",
        type=int,
        default=2000,
        help="env steps of the few-shot and from-scratch runs on the target map (default 2000)",
    )
    parser.add_argument("--test-interval", type=int, default=500)
    parser.add_argument("--test-nepisode", type=int, default=10)
    parser.add_argument("--time-limit", type=int, default=60, help="episode step limit (env_args.time_limit)")
    parser.add_argument("--envs", type=int, default=4, help="parallel envs (batch_size_run = batch_size)")
    parser.add_argument("--epochs", type=int, default=2, help="PPO epochs per batch for lolm_mappo")
    parser.add_argument(
        "--kl-anneal-steps", type=int, default=None, help="kl_anneal_steps for lolm_mappo (default: the yaml's)"
    )


def _add_run_choice_arguments(parser: argparse.ArgumentParser) -> None:
    """Which runs, with which extra updates, threads and time limits; reusing an earlier check."""
    parser.add_argument(
        "--with",
        dest="lolm_with",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Sacred update for the lolm runs (repeatable), e.g. lr=0.0005",
    )
    parser.add_argument("--no-mappo", action="store_true", help="leave out the mappo baseline")
    parser.add_argument("--no-kl-ablation", action="store_true", help="leave out lolm_mappo_no_kl")
    parser.add_argument("--no-transfer", action="store_true", help="leave out zero-shot, few-shot and scratch runs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (llm_cpu_threads)")
    parser.add_argument("--run-timeout", type=float, default=7200, help="seconds before one run is stopped")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the runs an earlier check with this --out finished (same label, rc 0): e.g. a new "
        "--target-map transfers the checkpoints already trained",
    )


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} takes KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    from . import learning_runs as lr

    if args.show is not None:
        print(lr.curves_table(args.show, ("test_battle_won_mean", "test_return_mean", "kl_to_reference", "kl_beta")))
        return 0
    if args.out is None:
        return _fail("--out DIR is required (or --show SACRED_DIR)")
    try:
        source, map_files, extra = _inputs(args, lr.REPO_ROOT)
    except ValueError as err:
        return _fail(str(err))
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        model = _model(args, out)
    except ValueError as err:
        return _fail(str(err))
    specs = lr.plan_runs(
        source_map=args.map,
        target_map=None if args.no_transfer else args.target_map,
        seeds=args.seeds,
        budget=_budget(args, lr),
        llm_model=model,
        lolm_updates={"llm_cpu_threads": args.threads, **extra},
        with_mappo=not args.no_mappo,
        with_no_kl=not args.no_kl_ablation,
        transfer=not args.no_transfer,
    )
    if args.dry_run:
        print_plan(lr.grid_jobs(specs, None, map_files, out / "logs", args), "in a private copy of the checkout")
        return 0
    checkout = lr.prepare_checkout(source, out, map_files)
    reused, other_rows = lr.finished_runs(out, specs) if args.resume else ({}, [])
    for label, result in reused.items():
        print(f"[{label}] reused: {result.sacred_dir}", flush=True)
    jobs = [j for j in lr.grid_jobs(specs, checkout, map_files, out / "logs", args) if j.label not in reused]
    sacred, report_dir = checkout.root / "results" / "sacred", out / "report"
    if args.executor == "slurm":
        report = partial(run_report, str(sacred), str(report_dir))
        return print_submitted(submit_slurm(jobs, out / "submitit", slurm_options(args), report), out / "submitit")
    outcomes = run_local(jobs, out / "submitit", args.parallel, print_outcome)
    results = {**reused, **lr.results_of(outcomes, specs)}
    summary = lr.summarize([results[s.label] for s in specs if s.label in results], "test_battle_won_mean")
    if other_rows:
        summary["other_runs"] = other_rows  # earlier runs outside this plan (e.g. another target map)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    code = run_report(str(sacred), str(report_dir))
    failed = [label for label, r in results.items() if r.returncode != 0]
    if failed:
        return _fail(f"{len(failed)} runs failed: {', '.join(failed)} (see {out / 'logs'})", 1)
    return code


def _fail(message: str, code: int = 2) -> int:
    print(f"epymarl-llm learning-check: {message}", file=sys.stderr)
    return code


def _inputs(args: argparse.Namespace, repo_root: Path) -> tuple[Path, dict[str, Path], dict[str, str]]:
    """The checkout to copy, the map files by name (the project's shipped maps found by name) and
    the extra Sacred updates; ValueError says what is wrong."""
    from . import learning_runs as lr

    source = lr.epymarl_source(args.epymarl)
    map_files = {k: Path(v).resolve() for k, v in _pairs(args.map_file, "--map-file").items()}
    extra = _pairs(args.lolm_with, "--with")
    for name in (args.map, args.target_map):
        shipped = repo_root / "maps" / "smaclite" / f"{name}.json"
        if name not in map_files and shipped.is_file():
            map_files[name] = shipped
    missing = [str(p) for p in map_files.values() if not p.is_file()]
    if missing:
        raise ValueError(f"no such map file: {', '.join(missing)}")
    try:
        import smaclite  # noqa: F401
    except ImportError:
        raise ValueError(
            "SMAClite is not installed: pip install git+https://github.com/uoe-agents/smaclite.git"
        ) from None
    return source, map_files, extra


def _model(args: argparse.Namespace, out: Path) -> str:
    """The model every lolm run loads: --llm-model resolved once here (not by each run at once), or
    a small random model made under --out."""
    if args.llm_model is None:
        model_dir = out / f"model-{args.tiny_shape}"
        if not (model_dir / "config.json").is_file() and not args.dry_run:
            from epymarl_llm.policy.tiny_model import make_tiny_model

            make_tiny_model(model_dir, args.tiny_shape)
        return str(model_dir)
    if not args.dry_run:
        from epymarl_llm.policy.errors import ModelLoadError
        from epymarl_llm.policy.named_models import resolve_model

        try:
            resolve_model(args.llm_model)
        except ModelLoadError as err:
            raise ValueError(str(err)) from None
    return args.llm_model


def _budget(args: argparse.Namespace, lr):
    return lr.Budget(
        t_max=args.t_max,
        test_interval=args.test_interval,
        test_nepisode=args.test_nepisode,
        time_limit=args.time_limit,
        envs=args.envs,
        few_shot_t=args.few_shot_t,
        epochs=args.epochs,
        kl_anneal_steps=args.kl_anneal_steps,
    )
