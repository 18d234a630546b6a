"""`epymarl-llm grid PRESET [options] --executor local|slurm`: the paper's grid or the learning check
through one phase-aware runner (phase 1 trains, phase 2 transfers from its checkpoints, then the
report), on this machine or as Slurm arrays.

    epymarl-llm grid learning-check --out /tmp/lc --executor local --parallel 2
    epymarl-llm grid paper --epymarl ~/epymarl --executor slurm --partition gpu --gpus 1
"""

from __future__ import annotations

import argparse
import shlex
import sys
from functools import partial

from . import grid_paper, learning_check
from .grid_options import add_executor_arguments, slurm_options
from .grid_runner import print_outcome, print_plan, print_submitted, run_local, run_report, submit_slurm

HELP = "the paper's grid or the learning check: train, transfer, report, locally or on Slurm (submitit)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    presets = parser.add_subparsers(dest="preset", metavar="PRESET", required=True)
    paper = presets.add_parser("paper", help="maps x algorithms x seeds, then zero-shot and few-shot transfer")
    grid_paper.add_arguments(paper)
    add_executor_arguments(paper)
    check = presets.add_parser("learning-check", help=learning_check.HELP)
    learning_check.add_arguments(check)  # its executor options included


def run(args: argparse.Namespace) -> int:
    if args.parallel < 1:
        print("epymarl-llm grid: --parallel must be >= 1", file=sys.stderr)
        return 2
    if args.preset == "learning-check":
        return learning_check.run(args)
    return run_paper(args)


def run_paper(args: argparse.Namespace) -> int:
    error = grid_paper.resolve_defaults(args)
    if error:
        print(f"epymarl-llm grid: {error}", file=sys.stderr)
        return 2
    jobs = grid_paper.plan(args)
    sacred = args.epymarl / "results" / "sacred"
    report = partial(run_report, str(sacred), str(args.out.resolve())) if "report" in args.phases else None
    if args.dry_run:
        print_plan(jobs, f"cd {shlex.quote(str(args.epymarl))}")
        if report is not None:
            print(f"# report\nepymarl-llm report {sacred} --out {args.out}")
        return 0
    folder = grid_paper.log_dir(args) / "submitit"
    if args.executor == "slurm":
        return print_submitted(submit_slurm(jobs, folder, slurm_options(args), report), folder)
    outcomes = run_local(jobs, folder, args.parallel, print_outcome)
    code = report() if report is not None else 0
    failed = [o.label for o in outcomes if o.returncode != 0]
    if failed:
        print(f"{len(failed)} runs failed: {', '.join(failed)}; see {grid_paper.log_dir(args)}", file=sys.stderr)
        return 1
    return code
