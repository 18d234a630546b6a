"""One run of EPyMARL's `src/main.py`, as the experiment runner submits it: a picklable job and the
function a submitit worker (this machine or a Slurm node) calls on it.

A transfer job names the log of the run it starts from; it reads that run's checkpoint folder
from the log's last "Saving models to" line when it starts, because on a cluster the training run
finishes on another node, after the plan was written.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SAVING_MODELS = "Saving models to"
STARTED_RUN = 'Started run with ID "'


@dataclass(frozen=True)
class GridJob:
    """`argv` run in `cwd` (EPyMARL's root) with `env_updates` over the worker's environment.

    `with_args` are the Sacred updates after `with`; a transfer job (`parent_log` set) gets
    `checkpoint_path=` added, and with `few_shot_steps` also `t_max=` the checkpoint's step plus it
    (EPyMARL resumes t_env at the checkpoint's step and stops at t_max).
    """

    label: str
    phase: int
    command: tuple[str, ...]
    with_args: tuple[str, ...]
    cwd: str
    log: str
    env_updates: tuple[tuple[str, str], ...] = ()
    parent_log: str | None = None
    few_shot_steps: int | None = None
    timeout_s: float | None = None

    def argv(self, checkpoint: str | None = None, step: int | None = None) -> list[str]:
        """The command line; without a checkpoint, transfer jobs show placeholders (dry runs)."""
        extra: list[str] = []
        if self.parent_log is not None:
            extra.append(f"checkpoint_path={checkpoint or f'<checkpoint saved by {Path(self.parent_log).name}>'}")
            if self.few_shot_steps is not None:
                extra.append(f"t_max={step + self.few_shot_steps if step is not None else self._later_t_max()}")
        return [*self.command, "with", *self.with_args, *extra]

    def _later_t_max(self) -> str:
        return f"<checkpoint step + {self.few_shot_steps}>"


@dataclass
class JobOutcome:
    """What a worker hands back: exit status, wall time, the run's Sacred folder and its log."""

    label: str
    returncode: int
    wall_s: float
    sacred_dir: str | None
    log: str
    load: tuple[float, float, float] = field(default_factory=lambda: (0.0, 0.0, 0.0))


def checkpoint_in_log(log: Path, cwd: Path) -> Path | None:
    """The checkpoint folder (results/models/<token>) a finished run's log says it saved to."""
    if not log.is_file():
        return None
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if SAVING_MODELS in ln]
    if not lines:
        return None
    step_dir = Path(lines[-1].split(SAVING_MODELS, 1)[1].strip())
    return (step_dir if step_dir.is_absolute() else cwd / step_dir).parent


def newest_step(checkpoint: Path) -> int:
    """The largest step folder EPyMARL wrote under results/models/<token>/."""
    return max(int(p.name) for p in checkpoint.iterdir() if p.is_dir() and p.name.isdigit())


def sacred_dir_in_log(log: Path, cwd: Path, with_args: list[str]) -> Path | None:
    """The run's FileStorageObserver folder: Sacred logs the run's id, and the run whose recorded
    updates are this job's tells it apart from runs with the same id under other configs."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    if STARTED_RUN not in text:
        return None
    run_id = text.rsplit(STARTED_RUN, 1)[1].split('"', 1)[0]
    for candidate in sorted((cwd / "results" / "sacred").glob(f"*/*/{run_id}")):
        try:
            run = json.loads((candidate / "run.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if run.get("meta", {}).get("options", {}).get("UPDATE") == with_args:
            return candidate
    return None


def run_job(job: GridJob) -> JobOutcome:
    """Run one job to its end (the function submitit pickles); a missing source checkpoint fails
    this job alone, with the reason in its log."""
    cwd, log = Path(job.cwd), Path(job.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = job.argv()
    start = time.monotonic()
    with log.open("w") as out:
        if job.parent_log is not None:
            checkpoint = checkpoint_in_log(Path(job.parent_log), cwd)
            if checkpoint is None or not checkpoint.is_dir():
                out.write(f"no checkpoint: {job.parent_log} records none saved; its run must finish first\n")
                return JobOutcome(job.label, 1, 0.0, None, str(log))
            argv = job.argv(str(checkpoint), newest_step(checkpoint))
        out.write("$ " + shlex.join(argv) + "\n")
        out.flush()
        code = _run(argv, cwd, dict(os.environ, **dict(job.env_updates)), out, job.timeout_s)
    sacred = sacred_dir_in_log(log, cwd, argv[argv.index("with") + 1 :])
    wall = time.monotonic() - start
    return JobOutcome(job.label, code, wall, str(sacred) if sacred else None, str(log), os.getloadavg())


def _run(argv: list[str], cwd: Path, env: dict[str, str], out, timeout_s: float | None) -> int:
    try:
        proc = subprocess.run(
            argv, check=False, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return 124
    return proc.returncode
