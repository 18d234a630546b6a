"""Demonstrations on disk: one `.npz` per batch of episodes and a JSON manifest beside them.

A folder written by `epymarl-llm demos generate` holds `manifest.json` and `batch_00000.npz`, ...
Every array of a batch is padded to the longest episode of that batch (`filled` marks real steps),
with these keys (E episodes, T steps, N agents, A actions):

    obs (E, T, N, obs_size) float32    avail (E, T, N, A) uint8    actions (E, T, N) int64
    state (E, T, state_size) float32   reward (E, T) float32       filled (E, T) uint8
    terminated (E, T) uint8            won (E,) uint8              episode_return (E,) float32
    valid (E, T, N) uint8: 1 where the demonstrator's own answer was a valid, available action

`np.load(path)` reads a batch; the manifest says what produced it (demonstrator, map, env args)
and its statistics (validity rate, mean return, win rate, generation speed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from epymarl_llm.actions import acting_agents

MANIFEST = "manifest.json"
FORMAT = "epymarl-llm-demos/1"
STEP_KEYS = ("obs", "avail", "actions", "valid")
TEAM_KEYS = ("state", "reward", "filled", "terminated")
EPISODE_KEYS = ("won", "episode_return")


class DemoFormatError(ValueError):
    """A demonstration folder is missing, incomplete or of another map."""


@dataclass
class DemoEpisodes:
    """Episodes padded to a common length T (arrays as in the module docstring)."""

    obs: np.ndarray
    avail: np.ndarray
    actions: np.ndarray
    valid: np.ndarray
    state: np.ndarray
    reward: np.ndarray
    filled: np.ndarray
    terminated: np.ndarray
    won: np.ndarray
    episode_return: np.ndarray

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    @property
    def n_agents(self) -> int:
        return int(self.obs.shape[2])

    @property
    def n_actions(self) -> int:
        return int(self.avail.shape[3])

    def select(self, idx: np.ndarray) -> DemoEpisodes:
        """Episodes `idx`, trimmed to their own longest length."""
        t = max(1, int(self.filled[idx].sum(1).max())) if len(idx) else 1
        return DemoEpisodes(
            **{k: (getattr(self, k)[idx] if k in EPISODE_KEYS else getattr(self, k)[idx, :t]) for k in _ALL}
        )

    def live(self) -> np.ndarray:
        """(E, T, N) bool: filled steps where the agent is alive (an action other than no-op available)."""
        return (self.filled[..., None] > 0) & acting_agents(self.avail > 0)


_ALL = STEP_KEYS + TEAM_KEYS + EPISODE_KEYS


def pad_episodes(episodes: list[dict[str, np.ndarray]]) -> DemoEpisodes:
    """Per-episode dicts (arrays of their own length t) -> one padded `DemoEpisodes`."""
    t_max = max(len(e["reward"]) for e in episodes)
    out: dict[str, np.ndarray] = {}
    for key in STEP_KEYS + TEAM_KEYS:
        first = episodes[0][key]
        arr = np.zeros((len(episodes), t_max) + first.shape[1:], dtype=first.dtype)
        for i, e in enumerate(episodes):
            arr[i, : len(e[key])] = e[key]
        out[key] = arr
    for key in EPISODE_KEYS:
        out[key] = np.array([e[key] for e in episodes], dtype=episodes[0][key].dtype)
    return DemoEpisodes(**out)


def concat(parts: list[DemoEpisodes]) -> DemoEpisodes:
    """Batches of different T -> one, padded to the longest."""
    t_max = max(p.obs.shape[1] for p in parts)
    out = {}
    for key in _ALL:
        arrays = []
        for p in parts:
            a = getattr(p, key)
            if key not in EPISODE_KEYS and a.shape[1] < t_max:
                pad = [(0, 0)] * a.ndim
                pad[1] = (0, t_max - a.shape[1])
                a = np.pad(a, pad)
            arrays.append(a)
        out[key] = np.concatenate(arrays)
    return DemoEpisodes(**out)


def write_batch(folder: Path, index: int, episodes: DemoEpisodes) -> str:
    name = f"batch_{index:05d}.npz"
    np.savez_compressed(folder / name, **{k: getattr(episodes, k) for k in _ALL})
    return name


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    path = folder / MANIFEST
    path.write_text(json.dumps({"format": FORMAT, **manifest}, indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DemoFormatError(
            f"{folder} holds no {MANIFEST}: write demonstrations with "
            "`epymarl-llm demos generate --out DIR`, then set demo_path=DIR"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise DemoFormatError(f"{path} is of format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def load_demos(
    folder: str | Path,
    n_agents: int | None = None,
    n_actions: int | None = None,
    obs_size: int | None = None,
    only_won: bool = False,
) -> tuple[DemoEpisodes, dict[str, Any]]:
    """Every batch of a demonstration folder, checked against the run's sizes."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    parts = []
    for name in manifest["batches"]:
        if not (folder / name).is_file():
            raise DemoFormatError(f"{folder / name} is listed in the manifest but missing; generate the set again")
        with np.load(folder / name) as data:
            parts.append(DemoEpisodes(**{k: data[k] for k in _ALL}))
    if not parts:
        raise DemoFormatError(f"{folder} lists no batches")
    demos = concat(parts)
    for what, want, got in (
        ("agents", n_agents, demos.n_agents),
        ("actions", n_actions, demos.n_actions),
        ("observation features", obs_size, demos.obs.shape[-1]),
    ):
        if want is not None and want != got:
            raise DemoFormatError(
                f"the demonstrations in {folder} have {got} {what} but this run has {want}: they were "
                f"generated on map {manifest.get('map_name')!r}; generate them on this run's map"
            )
    if only_won:
        keep = np.nonzero(demos.won > 0)[0]
        if len(keep) == 0:
            raise DemoFormatError(
                f"demo_only_won=True but no demonstration episode in {folder} was won; "
                "set demo_only_won=False or generate better demonstrations"
            )
        demos = demos.select(keep)
    return demos, manifest
