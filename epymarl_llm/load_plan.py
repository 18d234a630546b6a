"""What loading a checkpoint means for a run: the checkpoint's manifest, and one pure rule that turns
(manifest, run settings) into a load plan (paper section 5.4: zero- and few-shot transfer).

- `CheckpointManifest` is written by the controller beside the policy's weights at save time
  (`lolm_run.json` in EPyMARL's step folder `results/models/<run token>/<t_env>/`): the map, env and
  sizes the checkpoint was trained on, its backbone, and the map it was itself loaded from.
- `plan_load(manifest, step_dir, settings)` says what kind of run loads it (resumed training,
  evaluation, few-shot training, zero-shot evaluation), what happens to the KL term, from which step
  EPyMARL resumes `t_env`, and the notes the run records. The learner applies the plan
  (`LolmPPOLearner.load_models`), the runner and the learner record it in Sacred's run info, the
  Sacred hook puts the source map in the run's config, and the report tells run kinds apart with
  the same `load_kind`.

Pure: standard library only, no model, no EPyMARL.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any

MANIFEST_FILE = "lolm_run.json"
SOURCE_MAP_KEY = "transfer_source_map"  # the Sacred config key the report reads

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointManifest:
    """What a lolm_mappo checkpoint was trained on (`lolm_run.json`)."""

    map_name: str | None
    env: str | None = None
    n_agents: int | None = None
    n_actions: int | None = None
    llm_model: str | None = None
    transfer_source_map: str | None = None  # the map this run was trained by transfer from (kept across resumes)

    def write(self, step_dir: str | os.PathLike) -> None:
        with open(os.path.join(step_dir, MANIFEST_FILE), "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=2)

    @classmethod
    def read(cls, step_dir: str | os.PathLike) -> CheckpointManifest | None:
        """The manifest of a step folder; None when it has none (another algorithm's checkpoint) or
        it cannot be read (logged: the run then treats the checkpoint's map as unknown)."""
        path = os.path.join(step_dir, MANIFEST_FILE)
        if not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            _log.warning("cannot read %s (%s); the checkpoint's map stays unknown", path, err)
            return None
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{"map_name": None, **{k: v for k, v in data.items() if k in known}})


class LoadKind(str, Enum):
    """The kind of a run that loads a checkpoint (the report's names are the values)."""

    RESUMED = "resumed"  # same map, training continues
    EVALUATION = "evaluation"  # same map, evaluate=True
    FEW_SHOT = "few-shot"  # another map, training
    ZERO_SHOT = "zero-shot"  # another map, evaluate=True

    @property
    def phrase(self) -> str:
        """The words of the run's console line and Sacred run info (`lolm_transfer.kind`)."""
        return {
            "resumed": "resumed training",
            "evaluation": "evaluation",
            "few-shot": "few-shot training",
            "zero-shot": "zero-shot evaluation",
        }[self.value]


def load_kind(same_map: bool, evaluate: bool) -> LoadKind:
    if same_map:
        return LoadKind.EVALUATION if evaluate else LoadKind.RESUMED
    return LoadKind.ZERO_SHOT if evaluate else LoadKind.FEW_SHOT


class KlAction(str, Enum):
    """What the learner does with the KL term's schedule when it loads the checkpoint."""

    CONTINUE = "continue"  # same map: the saved schedule (and any saved step offset) continues
    OFF = "off"  # training by transfer and kl_in_transfer=False: the KL term is off (the paper's few-shot)
    ALREADY_OFF = "already off"  # another map under kl_mode=none
    RESTART = "restart"  # another map and kl_in_transfer=True: eq. 10 again, eq. 9 counted from the step


@dataclass(frozen=True)
class LoadSettings:
    """The run's side of the rule: EPyMARL's keys and the plugin keys that decide what a load does."""

    target_map: str | None
    evaluate: bool = False
    t_max: int | float | None = None
    kl_mode: str = "anneal"
    kl_in_transfer: bool = False


@dataclass(frozen=True)
class LoadPlan:
    """What loading `checkpoint` does in this run.

    Attributes:
        step: the step folder's number, where EPyMARL resumes `t_env` (None for another folder name).
        kl_t_offset: RESTART: the step eq. 9 counts from (the schedule anneals over training on the
            target, not from the source run's step 0); 0 otherwise.
        transferred_from: the map this run's training was transferred from, if any: the checkpoint's
            map for a transfer, and for a resume of a run that was itself a transfer, that run's
            source (the next checkpoint's manifest carries it on).
        notes: what the run records about the load, beside what the learner adds.
    """

    checkpoint: str
    step: int | None
    source_map: str | None
    target_map: str | None
    kind: LoadKind
    evaluate: bool
    kl: KlAction
    kl_mode: str
    kl_t_offset: int = 0
    transferred_from: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def is_transfer(self) -> bool:
        return self.kind in (LoadKind.FEW_SHOT, LoadKind.ZERO_SHOT)

    def kl_text(self, beta_0: float | None = None) -> str:
        """The KL decision in words; `beta_0` is the continued schedule's (known once it is loaded)."""
        if self.evaluate:
            return "not used (evaluate=True)"
        if self.kl is KlAction.ALREADY_OFF:
            return "off (kl_mode=none)"
        if self.kl is KlAction.OFF:
            return (
                f"off: training transferred from {self.transferred_from} and kl_in_transfer=False "
                "(paper: no KL in few-shot)"
            )
        if self.kl is KlAction.RESTART:
            return (
                f"on (kl_in_transfer=True, kl_mode={self.kl_mode}): restarted on {self.target_map}, "
                f"beta_0 from eq. 10 at the first update, annealed from step {self.kl_t_offset}"
            )
        return f"continued (kl_mode={self.kl_mode}, beta_0={beta_0})"

    def record(self, notes: list[str] | tuple[str, ...] = (), beta_0: float | None = None) -> dict[str, Any]:
        """Sacred run info `lolm_transfer`: what was loaded, kept and reset (`notes`: the learner's, first)."""
        return {
            "checkpoint": self.checkpoint,
            "source_map": self.source_map,
            "target_map": self.target_map,
            "checkpoint_step": self.step,
            "kind": self.kind.phrase,
            "kl": self.kl_text(beta_0),
            "notes": [*notes, *self.notes],
        }

    @staticmethod
    def console_line(record: dict[str, Any]) -> str:
        return (
            f"LoLM checkpoint of {record['source_map'] or 'an unknown map'} at step {record['checkpoint_step']} "
            f"loaded on {record['target_map']}: {record['kind']}; KL term {record['kl']}"
            + "".join(f"; {n}" for n in record["notes"])
        )


class LoadPlanError(ValueError):
    """A run whose settings cannot work with the checkpoint it loads."""


def plan_load(manifest: CheckpointManifest | None, step_dir: str, settings: LoadSettings) -> LoadPlan:
    """The load plan of the checkpoint in `step_dir` (its manifest: `manifest`) for a run of `settings`.

    A checkpoint without a manifest naming its map is treated as one of the same map (resumed),
    and the plan says so.

    Raises:
        LoadPlanError: training (evaluate=False) with t_max not above the checkpoint's step: EPyMARL
            resumes t_env at that step (run.py), so the run would stop before training.
    """
    source = manifest.map_name if manifest is not None else None
    target = settings.target_map
    same_map = source is None or target is None or source == target
    folder = os.path.basename(os.path.normpath(step_dir))
    step = int(folder) if folder.isdigit() else None  # EPyMARL's step folders: results/models/<token>/<t_env>
    _check_t_max(settings, step)
    # A run trained by transfer keeps the transfer's KL rule when it is resumed on its own map: its
    # checkpoint names that map, but its training is still the few-shot run the rule is about.
    lineage = manifest.transfer_source_map if manifest is not None else None
    if not same_map:
        transferred_from = source
    elif source is not None and lineage is not None and lineage != source:
        transferred_from = lineage
    else:
        transferred_from = None
    kl, offset = _kl_action(transferred_from, same_map, settings, step)
    notes: tuple[str, ...] = ()
    if source is None:
        notes = (f"the checkpoint has no {MANIFEST_FILE} naming its map: treated as the same map (resumed)",)
    elif same_map and transferred_from is not None:
        notes = (
            f"the checkpoint's run was trained by transfer from {transferred_from}: the KL term follows "
            f"kl_in_transfer={settings.kl_in_transfer}, as in that run",
        )
    return LoadPlan(
        checkpoint=os.path.abspath(step_dir),
        step=step,
        source_map=source,
        target_map=target,
        kind=load_kind(same_map, settings.evaluate),
        evaluate=settings.evaluate,
        kl=kl,
        kl_mode=settings.kl_mode,
        kl_t_offset=offset,
        transferred_from=transferred_from,
        notes=notes,
    )


def _check_t_max(settings: LoadSettings, step: int | None) -> None:
    """LoadPlanError when a training run's t_max is not above the checkpoint's step."""
    t_max = settings.t_max
    if not settings.evaluate and step is not None and isinstance(t_max, (int, float)) and t_max <= step:
        raise LoadPlanError(
            f"t_max={t_max} is not above the checkpoint's step {step}: EPyMARL resumes t_env at the "
            f"checkpoint's step (run.py), so this run would stop before training; set t_max={step} + "
            "the number of steps to train (or evaluate=True to only evaluate)"
        )


def _kl_action(
    transferred_from: str | None, same_map: bool, settings: LoadSettings, step: int | None
) -> tuple[KlAction, int]:
    """(what the KL term does, the step eq. 9 counts from after a restart)."""
    if transferred_from is None:
        return KlAction.CONTINUE, 0
    if settings.kl_mode == "none":
        return KlAction.ALREADY_OFF, 0
    if not settings.kl_in_transfer:
        return KlAction.OFF, 0
    if not same_map:
        return KlAction.RESTART, step or 0
    # a resumed transfer run that kept the KL term continues its saved schedule and offset
    return KlAction.CONTINUE, 0
