"""Real SMAC layouts, prompts and EPyMARL-shaped batches for the transfer tests (no EPyMARL needed)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import torch

from epymarl_llm.epymarl.controller import LolmMAC
from epymarl_llm.learner.episode_tensors import EpisodeTensors
from epymarl_llm.prompts import PromptEncoder, load_map_layout, random_observations
from epymarl_llm.run_config import complete_args, run_config


class Recorder:
    """EPyMARL's logger as the learner uses it: every `log_stat` kept, and Sacred's `info` dict."""

    def __init__(self):
        self.stats: dict[str, list] = {}
        self.sacred_info: dict = {}

    def log_stat(self, key, value, t):
        self.stats.setdefault(key, []).append((t, value))


def episode_batch(layout, episodes: int = 2, steps: int = 3, seed: int = 0) -> EpisodeTensors:
    """Random but well-formed episodes of `layout`: obs (B, T+1, N, obs), avail, actions, state, ..."""
    n, t = layout.n_agents, steps + 1
    obs = np.zeros((episodes, t, n, layout.obs_size), dtype=np.float32)
    avail = np.zeros((episodes, t, n, layout.n_actions), dtype=np.int64)
    for agent in range(n):
        o, a, _ = random_observations(layout, episodes * t, seed=seed + agent, agent_id=agent)
        obs[:, :, agent] = o.reshape(episodes, t, -1)
        avail[:, :, agent] = a.reshape(episodes, t, -1)
    g = torch.Generator().manual_seed(seed)
    avail_t = torch.as_tensor(avail)
    actions = torch.multinomial(avail_t.reshape(-1, layout.n_actions).float(), 1, generator=g)
    filled = torch.ones(episodes, t, 1)
    filled[:, -1] = 0
    terminated = torch.zeros(episodes, t, 1)
    terminated[:, -2] = 1
    return EpisodeTensors(
        {
            "obs": torch.as_tensor(obs),
            "avail_actions": avail_t,
            "actions": actions.reshape(episodes, t, n, 1),
            "state": torch.rand(episodes, t, layout.state_size, generator=g) + 0.05,
            "reward": torch.rand(episodes, t, 1, generator=g),
            "filled": filled,
            "terminated": terminated,
        }
    )


def run_args(layout, map_name: str, **overrides) -> SimpleNamespace:
    """EPyMARL-like args for the learner on `map_name` (small critic, every update logged)."""
    base = dict(
        n_agents=layout.n_agents,
        n_actions=layout.n_actions,
        env="sc2",
        env_args={"map_name": map_name},
        lr=0.001,
        epochs=1,
        learner_log_interval=0,
        critic_d_model=16,
        critic_layers=1,
        critic_heads=2,
        kl_anneal_steps=1000,
        use_cuda=False,
        standardise_returns=True,
        evaluate=False,
        t_max=10_000,
        max_prompts_per_forward=64,
        lolm_layout=layout,
        llm_dtype="float32",  # checkpoints are compared exactly: never the CPU-dependent `auto`
    )
    base.update(overrides)
    return complete_args(**base)


class TestMac:
    """The controller's parts the learner uses, with LolmMAC's own `save_models`/`load_models`
    (LolmMAC's constructor needs EPyMARL's action selectors, the methods do not)."""

    __test__ = False  # not a pytest class
    save_models = LolmMAC.save_models
    load_models = LolmMAC.load_models

    def __init__(self, policy, layout, args):
        self.policy, self.args, self.n_agents = policy, args, layout.n_agents
        self.prompt_encoder = PromptEncoder(layout, policy.tokenizer)
        self.config = dataclasses.replace(run_config(args), policy=policy.cfg)
        self.checkpoint_manifest = self.load_plan = None
        self.rollout_record = None  # LolmMAC's `RolloutRecord`; no rollout played these batches

    def parameters(self):
        return self.policy.parameters()


def layout_of(map_name: str):
    return load_map_layout(map_name, env="sc2")
