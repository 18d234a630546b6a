"""Play demonstration episodes through EPyMARL's env and store them (`epymarl-llm demos generate`).

The loop is EPyMARL's `EpisodeRunner.run`: state, avail actions and observations before each step,
the demonstrator's actions, then `env.step`; an episode ends on `terminated or truncated`, and its
`terminated` flag excludes the time limit, as EPyMARL's runner records it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from epymarl_llm.leed import store


@dataclass
class GenerationStats:
    episodes: int = 0
    agent_steps: int = 0  # live agent-steps (agents that chose an action)
    env_steps: int = 0
    valid_answers: int = 0
    returns: list[float] = field(default_factory=list)
    wins: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        s = max(self.seconds, 1e-9)
        return {
            "episodes": self.episodes,
            "env_steps": self.env_steps,
            "agent_steps": self.agent_steps,
            "validity_rate": self.valid_answers / max(self.agent_steps, 1),
            "invalid_answers": self.agent_steps - self.valid_answers,
            "mean_return": float(np.mean(self.returns)) if self.returns else float("nan"),
            "std_return": float(np.std(self.returns)) if self.returns else float("nan"),
            "win_rate": self.wins / max(self.episodes, 1),
            "seconds": self.seconds,
            "episodes_per_s": self.episodes / s,
            "env_steps_per_s": self.env_steps / s,
            "agent_steps_per_s": self.agent_steps / s,
        }


def play_episode(env: Any, demonstrator: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One episode as per-step arrays of its own length (see `store`)."""
    env.reset()
    rows: dict[str, list] = {k: [] for k in ("obs", "avail", "actions", "valid", "state", "reward", "terminated")}
    terminated, ret, won = False, 0.0, False
    while not terminated:
        obs = np.asarray(env.get_obs(), dtype=np.float32)
        avail = np.asarray(env.get_avail_actions(), dtype=np.uint8)
        state = np.asarray(env.get_state(), dtype=np.float32)
        actions, valid = demonstrator.act(obs, avail, rng)
        _, reward, term, trunc, info = env.step(actions)
        terminated = bool(term or trunc)
        ret += float(reward)
        won = bool(info.get("battle_won", False))
        for k, v in (
            ("obs", obs),
            ("avail", avail),
            ("actions", actions),
            ("valid", valid.astype(np.uint8)),
            ("state", state),
            ("reward", np.float32(reward)),
            ("terminated", np.uint8(terminated != info.get("episode_limit", False))),
        ):
            rows[k].append(v)
    episode = {k: np.stack(v) if k not in ("reward", "terminated") else np.asarray(v) for k, v in rows.items()}
    episode["actions"] = episode["actions"].astype(np.int64)
    episode["filled"] = np.ones(len(episode["reward"]), dtype=np.uint8)
    episode["won"] = np.uint8(won)
    episode["episode_return"] = np.float32(ret)
    return episode


def generate(
    env: Any,
    demonstrator: Any,
    episodes: int,
    out: Path | None,
    batch_episodes: int = 10,
    seed: int = 0,
    manifest_extra: dict[str, Any] | None = None,
    progress: Callable[[GenerationStats], None] | None = None,
) -> tuple[GenerationStats, dict]:
    """Play `episodes` episodes; write them to `out` (npz batches + manifest) unless it is None."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if (out / store.MANIFEST).exists():
            raise FileExistsError(
                f"{out} already holds demonstrations ({store.MANIFEST}); choose another --out "
                "or delete that folder first"
            )
    rng = np.random.default_rng(seed)
    stats, batches, pending = GenerationStats(), [], []
    started = time.perf_counter()
    for _ in range(episodes):
        ep = play_episode(env, demonstrator, rng)
        live = ep["avail"][..., 1:].any(-1)
        stats.episodes += 1
        stats.env_steps += len(ep["reward"])
        stats.agent_steps += int(live.sum())
        stats.valid_answers += int((ep["valid"].astype(bool) & live).sum())
        stats.returns.append(float(ep["episode_return"]))
        stats.wins += int(ep["won"])
        pending.append(ep)
        if out is not None and len(pending) == batch_episodes:
            batches.append(store.write_batch(out, len(batches), store.pad_episodes(pending)))
            pending = []
        stats.seconds = time.perf_counter() - started
        if progress is not None:
            progress(stats)
    if out is not None and pending:
        batches.append(store.write_batch(out, len(batches), store.pad_episodes(pending)))
    stats.seconds = time.perf_counter() - started
    manifest = {
        "batches": batches,
        "demonstrator": demonstrator.describe(),
        "seed": seed,
        "stats": stats.as_dict(),
        "returns": stats.returns,
        **(manifest_extra or {}),
    }
    if out is not None:
        store.write_manifest(out, manifest)
    return stats, manifest
