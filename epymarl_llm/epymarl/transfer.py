"""Which map a run's checkpoint was trained on, recorded in the Sacred config before the run starts.

The report (`epymarl_llm_tools.report.runs`) tells transfer runs apart by the config key
`transfer_source_map`: Sacred writes a run's config once, when the run starts (config.json, the
MongoDB run document), so the key must be in `run.config` before then. The runner also puts it in
run info, but the report does not read info (EPyMARL copies every statistic into it). The hook in
`sacred_hooks` calls `record_source_map` right after Sacred creates the run, with the checkpoint
folder that EPyMARL's run.py will load (same rule as run.py: `load_step=0` takes the largest step,
else the step closest to `load_step`) and the map named in that folder's manifest (`load_plan`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from typing import Any

from epymarl_llm.load_plan import MANIFEST_FILE, SOURCE_MAP_KEY, CheckpointManifest

# What a lolm_mappo step folder holds (policy/checkpoint.py writes the first four, the controller the last).
LOLM_STEP_FILES = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "action_head.safetensors",
    "policy_meta.json",
    MANIFEST_FILE,
)
LOLM_MAC = "lolm_mac"  # registry_names.MAC, the mac of every lolm_mappo config
_LOOKS_LIKE = (
    "A lolm_mappo checkpoint is the folder a `--config=lolm_mappo` run with save_model=True writes, "
    "results/models/<run token>/, holding one numbered folder per saved step (<t_env>/), each with "
    + ", ".join(LOLM_STEP_FILES)
    + "."
)


def checkpoint_step_dir(checkpoint_path: str, load_step: int = 0) -> str | None:
    """The step folder EPyMARL's run.py loads from `checkpoint_path`, None when there is none.

    run.py (uoe-agents/epymarl src/run.py, `run_sequential`): numbered sub-folders are steps;
    `load_step == 0` takes the largest, otherwise the one closest to `load_step`.
    """
    if not checkpoint_path or not os.path.isdir(checkpoint_path):
        return None
    steps = [
        int(n) for n in os.listdir(checkpoint_path) if n.isdigit() and os.path.isdir(os.path.join(checkpoint_path, n))
    ]
    if not steps:
        return None
    step = max(steps) if not load_step else min(steps, key=lambda s: abs(s - int(load_step)))
    return os.path.join(checkpoint_path, str(step))


def checkpoint_problem(config: Mapping[str, Any]) -> str | None:
    """Why EPyMARL's run.py cannot load `config["checkpoint_path"]`, checked before the run starts.

    None when there is nothing to load or when the folder is fine. A path that is not a folder is
    refused: run.py would only log it and train from scratch, and Sacred would record the run as
    COMPLETED. A folder without numbered step folders is refused for every algorithm (run.py would
    stop on `max()` of no steps); under the plugin's mac, a step folder without the policy's files
    is another algorithm's checkpoint.
    """
    path = str(config.get("checkpoint_path") or "")
    if not path:
        return None
    if not os.path.isdir(path):
        return _not_a_folder(path)
    step_dir = checkpoint_step_dir(path, int(config.get("load_step") or 0))
    if step_dir is None:
        inside = sorted(os.listdir(path))
        problem = f"checkpoint_path={path!r} holds no numbered step folders"
        if not inside:
            problem += " (the folder is empty)"
        elif any(name in inside for name in LOLM_STEP_FILES + ("agent.th",)):
            parent, step = os.path.split(os.path.normpath(path))
            problem += f": it looks like one step of a checkpoint; use checkpoint_path={parent!r}" + (
                f" load_step={step}" if step.isdigit() else ""
            )
        else:
            problem += f" (it holds {', '.join(inside[:5])}{', ...' if len(inside) > 5 else ''})"
        return problem + ". EPyMARL saves a checkpoint as numbered folders <checkpoint_path>/<t_env>/."
    if config.get("mac") == LOLM_MAC:
        inside = sorted(os.listdir(step_dir))
        missing = [name for name in LOLM_STEP_FILES[:4] if name not in inside]
        if missing:
            other = " (agent.th: a checkpoint of another algorithm, e.g. mappo or qmix)" if "agent.th" in inside else ""
            held = ", ".join(inside[:6]) + (", ..." if len(inside) > 6 else "") if inside else "nothing"
            return (
                f"{step_dir} is not a lolm_mappo checkpoint: it holds {held}{other}, not "
                f"{', '.join(missing)}. " + _LOOKS_LIKE
            )
    return None


def _not_a_folder(path: str) -> str:
    """Why `path` cannot be a checkpoint folder, and what to set instead."""
    where = f" (relative to {os.getcwd()}, where the run started)" if not os.path.isabs(path) else ""
    what = "is a file, not a folder" if os.path.exists(path) else "does not exist"
    problem = f"checkpoint_path={path!r} {what}{where}"
    matches = sorted(m for m in glob.glob(path) if os.path.isdir(m)) if glob.has_magic(path) else []
    if matches:
        shown = ", ".join(repr(m) for m in matches[:4]) + (", ..." if len(matches) > 4 else "")
        problem += f"; it is taken literally, not as a pattern (it matches {shown}): name one folder"
    return problem + (
        ". Set checkpoint_path to the folder of a saved run, results/models/<run token>/ "
        "(`epymarl-llm latest-checkpoint results/models` prints the newest), or leave it empty to train from scratch."
    )


def source_map_of(config: Mapping[str, Any]) -> str | None:
    """The map of the checkpoint `config` loads (EPyMARL keys `checkpoint_path`, `load_step`)."""
    step_dir = checkpoint_step_dir(str(config.get("checkpoint_path") or ""), int(config.get("load_step") or 0))
    manifest = CheckpointManifest.read(step_dir) if step_dir else None
    source = manifest.map_name if manifest is not None else None
    return str(source) if source else None


def record_source_map(run: Any) -> None:
    """Put `transfer_source_map` into a just-created Sacred run's config, when it loads our checkpoint.

    Built-in algorithms' checkpoints have no manifest: their config is left alone (the report
    then parses the source map from EPyMARL's checkpoint folder name). A missing checkpoint is left
    to run.py, which logs it and stops.
    """
    config = run.config
    if SOURCE_MAP_KEY in config or not config.get("checkpoint_path"):
        return
    source = source_map_of(config)
    if source is not None:
        config[SOURCE_MAP_KEY] = source
