"""Demonstration episodes on a real map layout (SMAClite 2s3z), without an env."""

from __future__ import annotations

import numpy as np

from epymarl_llm.leed.store import pad_episodes
from epymarl_llm.prompts import load_map_layout
from epymarl_llm.prompts.examples import random_observations

MAP = "2s3z"


def layout():
    return load_map_layout(MAP, env="smaclite")


def demo_episodes(n_episodes=3, length=5, seed=0, won=None):
    """Episodes of `length` steps whose rows are generated observations of the map; the
    demonstrated action is the first available attack, else stop."""
    lay = layout()
    rng = np.random.default_rng(seed)
    episodes = []
    for e in range(n_episodes):
        obs = np.zeros((length, lay.n_agents, lay.obs_size), np.float32)
        avail = np.zeros((length, lay.n_agents, lay.n_actions), np.uint8)
        for a in range(lay.n_agents):
            o, av, _ = random_observations(lay, length, seed=seed * 100 + e * 10 + a, agent_id=a)
            obs[:, a], avail[:, a] = o, av
        attack = avail[..., 6:].argmax(-1) + 6
        actions = np.where(avail[..., 6:].any(-1), attack, 1).astype(np.int64)
        actions[~avail[..., 1:].any(-1)] = 0  # dead: no-op, as the generator records it
        episodes.append(
            {
                "obs": obs,
                "avail": avail,
                "actions": actions,
                "valid": np.ones_like(actions, np.uint8),
                "state": rng.random((length, 120), dtype=np.float32),
                "reward": np.ones(length, np.float32),
                "filled": np.ones(length, np.uint8),
                "terminated": np.eye(length, dtype=np.uint8)[-1],
                "won": np.uint8(bool(won and won[e])),
                "episode_return": np.float32(length),
            }
        )
    return pad_episodes(episodes)
