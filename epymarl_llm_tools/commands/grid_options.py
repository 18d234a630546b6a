"""Where the runner's jobs run: the options every preset of `epymarl-llm grid` takes."""

from __future__ import annotations

import argparse
import sys

from .grid_runner import SlurmOptions


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("executor")
    group.add_argument("--executor", choices=("local", "slurm"), default="local", help="where the jobs run")
    group.add_argument("--parallel", type=int, default=1, help="local: jobs at once within a phase")
    group.add_argument("--partition", default=None, help="slurm: partition")
    group.add_argument("--time-min", type=int, default=24 * 60, help="slurm: minutes per job")
    group.add_argument("--cpus", type=int, default=4, help="slurm: CPUs per job")
    group.add_argument("--gpus", type=int, default=0, help="slurm: GPUs per job")
    group.add_argument("--mem", default="32G", help="slurm: memory per job (sbatch --mem)")
    group.add_argument("--array-parallelism", type=int, default=64, help="slurm: array tasks running at once")
    group.add_argument("--python", default=sys.executable, help="interpreter of the jobs (on the nodes too)")
    group.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")


def slurm_options(args: argparse.Namespace) -> SlurmOptions:
    return SlurmOptions(
        partition=args.partition,
        time_min=args.time_min,
        cpus_per_task=args.cpus,
        gpus_per_node=args.gpus,
        mem=args.mem,
        array_parallelism=args.array_parallelism,
        python=args.python,
    )
