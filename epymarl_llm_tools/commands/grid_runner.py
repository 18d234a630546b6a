"""The phase-aware experiment runner: phase 1 trains, phase 2 transfers from phase 1's
checkpoints, then the report, on submitit's local executor or as Slurm arrays.

Locally, the driver keeps at most `parallel` jobs running and starts phase 2 when phase 1 has
ended. On Slurm, every phase is submitted at once as one array and each later phase carries a
dependency on the array before it (`--dependency=afterany:<array id>`), so Slurm holds it and the
driver exits instead of watching a cluster for days. `afterany`, not `afterok`: one failed
training run would otherwise cancel every transfer of the grid; a transfer job whose source left no
checkpoint fails alone, with the reason in its log, and the report lists it.
"""

from __future__ import annotations

import argparse
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .grid_job import GridJob, JobOutcome, run_job

POLL_S = 1.0


@dataclass(frozen=True)
class SlurmOptions:
    """What each array task asks of Slurm."""

    partition: str | None = None
    time_min: int = 24 * 60
    cpus_per_task: int = 4
    gpus_per_node: int = 0
    mem: str = "32G"
    array_parallelism: int = 64
    job_name: str = "epymarl-llm-grid"
    python: str | None = None  # the interpreter submitit starts on the node (default: this one)

    def parameters(self) -> dict:
        params = {
            "time": self.time_min,
            "cpus_per_task": self.cpus_per_task,
            "mem": self.mem,
            "array_parallelism": self.array_parallelism,
            "job_name": self.job_name,
        }
        if self.gpus_per_node:
            params["gpus_per_node"] = self.gpus_per_node
        if self.partition:
            params["partition"] = self.partition
        return params


def phases_of(jobs: Sequence[GridJob]) -> list[list[GridJob]]:
    """Jobs grouped by phase, in phase order."""
    return [[j for j in jobs if j.phase == phase] for phase in sorted({j.phase for j in jobs})]


def run_local(
    jobs: Sequence[GridJob], folder: Path, parallel: int, on_done: Callable[[JobOutcome], None]
) -> list[JobOutcome]:
    """Every phase through submitit's LocalExecutor, at most `parallel` jobs at once."""
    import submitit

    executor = submitit.LocalExecutor(folder=str(folder))
    # LocalExecutor kills a job after timeout_min; each job enforces its own timeout instead.
    executor.update_parameters(timeout_min=60 * 24 * 30)
    outcomes: list[JobOutcome] = []
    for phase in phases_of(jobs):
        outcomes += _run_window(executor, phase, parallel, on_done)
    return outcomes


def _run_window(executor, jobs: list[GridJob], parallel: int, on_done) -> list[JobOutcome]:
    pending, running, outcomes = list(jobs), [], []
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            print(f"[start] {job.label}  > {job.log}", flush=True)
            running.append((job, executor.submit(run_job, job)))
        for item in [r for r in running if r[1].done()]:
            running.remove(item)
            outcomes.append(_outcome(*item))
            on_done(outcomes[-1])
        if running:
            time.sleep(POLL_S)
    return outcomes


def _outcome(job: GridJob, submitted) -> JobOutcome:
    try:
        return submitted.result()
    except Exception as err:  # the worker itself died: the job failed, the others go on
        print(f"[error] {job.label}: {err}", flush=True)
        return JobOutcome(job.label, 1, 0.0, None, job.log)


def submit_slurm(
    jobs: Sequence[GridJob], folder: Path, options: SlurmOptions, report: Callable[[], int] | None
) -> list[str]:
    """One array per phase (and the report as one job), each after the one before; returns the ids."""
    import submitit

    ids: list[str] = []
    after: str | None = None
    for phase in phases_of(jobs):
        executor = _slurm_executor(submitit, folder, options, after)
        submitted = executor.map_array(run_job, phase)
        after = submitted[0].job_id.split("_", 1)[0]
        ids.append(after)
    if report is not None:
        executor = _slurm_executor(submitit, folder, options, after)
        ids.append(executor.submit(report).job_id)
    return ids


def _slurm_executor(submitit, folder: Path, options: SlurmOptions, after: str | None):
    executor = submitit.SlurmExecutor(folder=str(folder), python=options.python)
    extra = {"dependency": f"afterany:{after}"} if after else {}
    executor.update_parameters(**options.parameters(), additional_parameters=extra)
    return executor


def print_plan(jobs, where: str) -> None:
    for phase in sorted({j.phase for j in jobs}):
        in_phase = [j for j in jobs if j.phase == phase]
        print(f"# phase {phase}: {len(in_phase)} runs ({where})")
        for job in in_phase:
            print(shlex.join(job.argv()))


def print_outcome(outcome) -> None:
    state = "done" if outcome.returncode == 0 else "FAILED"
    print(
        f"[{state}] {outcome.label} (exit {outcome.returncode}, {outcome.wall_s:.0f} s, log {outcome.log})", flush=True
    )


def print_submitted(ids: list[str], folder: Path) -> int:
    print(f"submitted Slurm jobs {' -> '.join(ids)} (each after the one before); scripts in {folder}")
    return 0


def run_report(sacred_dir: str, out: str) -> int:
    """`epymarl-llm report SACRED_DIR --out OUT --format png` through the report command's own parser:
    module-level, so that submitit can pickle it for the report's own Slurm job."""
    from . import report

    parser = argparse.ArgumentParser(prog="epymarl-llm report")
    report.add_arguments(parser)
    return int(report.run(parser.parse_args([sacred_dir, "--out", out, "--format", "png"])) or 0)
