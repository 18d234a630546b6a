"""A Sacred run of EPyMARL as the report sees it: who ran what, where, how it ended, its metrics.

Identity comes from the run's config (EPyMARL's merged config, saved by Sacred): `name` is the
algorithm (`mappo`, `qmix`, `lolm_mappo`, ...), `env_args.map_name` (or `env_args.key`, as
EPyMARL's main.py reads it) the map, `seed` the seed. A non-empty `checkpoint_path` makes it a
transfer run (EPyMARL run.py loads the checkpoint before training or evaluating): with
`evaluate=True` a zero-shot evaluation, otherwise few-shot training on the new map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import PurePath
from typing import Any

from epymarl_llm.load_plan import SOURCE_MAP_KEY, LoadKind, load_kind
from epymarl_llm.map_identity import map_identity
from epymarl_llm_tools.report.curves import Curve

UNKNOWN_SOURCE = "unknown source"
UNKNOWN_MAP = "unknown map"

# EPyMARL run.py names checkpoint folders f"{name}_seed{seed}_{map_name}_{datetime.now()}".
_CHECKPOINT_TOKEN = re.compile(
    r"^(?P<name>.+?)_seed(?P<seed>\d+)_(?P<map>.+)_(?P<time>\d{4}-\d{2}-\d{2}[ _T][\d:.\-_]+)$"
)

# What torch says when a checkpoint's layers do not fit the new map's sizes.
_SIZE_MISMATCH = re.compile(
    r"size mismatch|shape mismatch|shapes cannot be multiplied|must match the size", re.IGNORECASE
)

FINISHED = "COMPLETED"
# Runs that ended abnormally: listed apart in the report, never averaged into a series.
CRASHED = ("FAILED", "INTERRUPTED")


class RunMode(str, Enum):
    """A run's kind in the report: the load kinds of `load_plan.LoadKind`, and two more."""

    SINGLE = "single-task"
    ZERO_SHOT = LoadKind.ZERO_SHOT.value
    FEW_SHOT = LoadKind.FEW_SHOT.value
    RESUMED = LoadKind.RESUMED.value  # a checkpoint of the same map: training continued, not transfer
    EVALUATION = LoadKind.EVALUATION.value  # a checkpoint of the same map evaluated (evaluate=True)
    # A run with a checkpoint_path that failed before logging anything and whose checkpoint names no
    # map: it never loaded the checkpoint, so it is no transfer run (and its source is no "unknown source").
    LOAD_FAILED = "checkpoint not loaded"

    def __str__(self) -> str:
        return self.value


@dataclass
class Run:
    """One Sacred run.

    Attributes:
        origin: where it was read from (a folder, or "<mongo url> run <id>"), for messages.
        status: Sacred's status (COMPLETED, RUNNING, FAILED, INTERRUPTED, QUEUED) or UNKNOWN.
        source_map: the map the checkpoint was trained on (transfer runs), UNKNOWN_SOURCE if unknown.
        metrics: every metric Sacred stored, with raw EPyMARL steps.
        problems: what was wrong when reading it (a missing or unreadable file, ...).
    """

    origin: str
    run_id: str
    algorithm: str
    map_name: str
    seed: int | None
    status: str
    mode: RunMode
    source_map: str | None = None
    checkpoint_path: str = ""
    metrics: dict[str, Curve] = field(default_factory=dict)
    fail_trace: str = ""
    problems: list[str] = field(default_factory=list)
    # The run's config as Sacred stored it: `split_by` reads settings from it.
    config: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_transfer(self) -> bool:
        return self.mode in (RunMode.ZERO_SHOT, RunMode.FEW_SHOT)

    @property
    def crashed(self) -> bool:
        return self.status in CRASHED

    @property
    def step_offset(self) -> int:
        """Steps to subtract so that a transfer run's curves count steps on the target task.

        EPyMARL sets `runner.t_env` to the loaded checkpoint's step (run.py), so a few-shot run
        starts logging there; its first logged step is where learning on the target began.
        """
        if not self.is_transfer:
            return 0
        firsts = [int(c.steps[0]) for c in self.metrics.values() if len(c)]
        return min(firsts) if firsts else 0

    def curve(self, metric: str) -> Curve | None:
        """The metric with steps on the target task, or None when the run did not log it."""
        curve = self.metrics.get(metric)
        if curve is None or len(curve) == 0:
            return None
        return curve.shifted(self.step_offset)

    @property
    def crashed_on_input_size(self) -> bool:
        """A transfer run that failed because the checkpoint's layer sizes do not fit the map."""
        return self.status == "FAILED" and bool(_SIZE_MISMATCH.search(self.fail_trace or ""))

    def describe(self) -> str:
        seed = "?" if self.seed is None else self.seed
        what = f"{self.algorithm} on {self.map_name}, seed {seed}"
        if self.is_transfer:
            what += f", {self.mode} from {self.source_map}"
        return f"{what} ({self.origin})"


def _get(config: Mapping[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def source_map_from_checkpoint(checkpoint_path: str) -> str | None:
    """The source map from an EPyMARL checkpoint folder name, None when it does not parse.

    Accepts the token folder (`results/models/lolm_mappo_seed1_3s_vs_4z_2025-01-01 10:00:00.1`)
    or one of its numbered step folders below it.
    """
    for part in reversed(PurePath(checkpoint_path.rstrip("/\\")).parts):
        if part.isdigit():
            continue
        match = _CHECKPOINT_TOKEN.match(part)
        return match.group("map") if match else None
    return None


def run_from_config(
    config: Mapping[str, Any],
    *,
    origin: str,
    run_id: str,
    status: str,
    metrics: dict[str, Curve],
    fail_trace: str = "",
    problems: list[str] | None = None,
) -> Run:
    """Build a `Run` from EPyMARL's config as Sacred stored it."""
    problems = list(problems or [])
    algorithm = _get(config, "name")
    if not algorithm:
        problems.append("config has no `name` (EPyMARL's algorithm name); shown as 'unknown'")
        algorithm = "unknown"
    map_name = map_identity(_get(config, "env_args")) or _get(config, "env_args.key")
    if not map_name:
        problems.append("config has no env_args.map_name or env_args.key; shown as 'unknown map'")
        map_name = UNKNOWN_MAP
    seed = _get(config, "seed")
    seed = int(seed) if isinstance(seed, (int, float)) and not isinstance(seed, bool) else None

    checkpoint_path = str(_get(config, "checkpoint_path") or "")
    mode, source_map = RunMode.SINGLE, None
    if checkpoint_path:
        source_map = _get(config, SOURCE_MAP_KEY) or source_map_from_checkpoint(checkpoint_path) or UNKNOWN_SOURCE
        if source_map == UNKNOWN_SOURCE and str(status) == "FAILED" and not metrics:
            mode, source_map = RunMode.LOAD_FAILED, None
        else:  # an unknown source is another map here: the report cannot show it as the same task
            mode = RunMode(load_kind(same_map=source_map == map_name, evaluate=bool(_get(config, "evaluate"))).value)
    return Run(
        origin=origin,
        run_id=str(run_id),
        algorithm=str(algorithm),
        map_name=str(map_name),
        seed=seed,
        status=str(status or "UNKNOWN"),
        mode=mode,
        source_map=source_map,
        checkpoint_path=checkpoint_path,
        metrics=metrics,
        fail_trace=fail_trace if isinstance(fail_trace, str) else "".join(fail_trace or []),
        problems=problems,
        config=config,
    )


def split_by(run: Run, keys: tuple[str, ...]) -> Run:
    """`run` with its algorithm named apart by the config values of `keys` (dotted paths allowed):
    `lolm_mappo` run `with llm_init=random` becomes `lolm_mappo [llm_init=random]`, so that runs of
    one config that differ in a setting are separate series. A key the run lacks adds nothing."""
    parts = [f"{key}={_get(run.config, key)}" for key in keys if _get(run.config, key) is not None]
    if not parts:
        return run
    return replace(run, algorithm=f"{run.algorithm} [{', '.join(parts)}]")


def metrics_from_sacred(raw: Mapping[str, Any]) -> tuple[dict[str, Curve], list[str]]:
    """{name: {"steps": [...], "values": [...], ...}} (metrics.json's layout) -> curves, problems."""
    curves: dict[str, Curve] = {}
    problems: list[str] = []
    for name, entry in raw.items():
        try:
            curves[name] = Curve.from_lists(entry["steps"], entry["values"])
        except (KeyError, TypeError, ValueError) as err:
            problems.append(f"metric {name!r} is malformed ({err}); skipped")
    return curves, problems
