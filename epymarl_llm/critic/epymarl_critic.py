"""The Transformer critic behind EPyMARL's critic interface: `Critic(scheme, args)`, `forward(batch, t)`.

Registered by the integration as `lolm_transformer_critic` in `modules.critics.REGISTRY`, so it also
serves EPyMARL's own `ppo_learner` (`critic_type: lolm_transformer_critic`). Its `state_dict` holds only the
Transformer's weights; the map-specific part (which state columns belong to which unit) is rebuilt
from the map layout, so a checkpoint loads on any map.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from epymarl_llm.critic.config import CriticConfig
from epymarl_llm.critic.state_tokens import StateTokenizer
from epymarl_llm.critic.transformer_critic import TransformerCritic


def layout_from_args(args: Any):
    """The MapLayout of the run: the runner's `args.lolm_layout`, else loaded from `env`/`env_args`."""
    if getattr(args, "lolm_layout", None) is not None:
        return args.lolm_layout
    from epymarl_llm.prompts import load_map_layout  # lazy: the prompts package loads the env registries

    env_args = dict(getattr(args, "env_args", {}) or {})
    map_name = env_args.get("map_name")
    if not map_name:
        raise ValueError("env_args.map_name is not set: the critic needs the map to cut the state into units")
    return load_map_layout(map_name, env=args.env, env_args=env_args)


class EpymarlTransformerCritic(nn.Module):
    """V(s) for every agent of every step, shaped like EPyMARL's `cv_critic`: (B, T, N, 1).

    Args:
        scheme: EPyMARL's scheme (unused: the state layout comes from the map layout).
        args: EPyMARL's args; reads `n_agents`, the `critic_*` keys when no `config` is given, and
            `env`/`env_args` when no `layout` is given.
        layout: a MapLayout (prompts package); its `state.entities` say where each unit's row is.
        config: the critic's keys, read once by the run (`LolmRunConfig.critic`).
    """

    def __init__(self, scheme: dict | None, args: Any, layout: Any = None, config: CriticConfig | None = None):
        super().__init__()
        layout = layout if layout is not None else layout_from_args(args)
        self.n_agents = int(args.n_agents)
        self.output_type = "v"
        self.tokenizer = StateTokenizer(layout.state.entities)
        # Under EPyMARL's own ppo_learner (`critic_type: lolm_transformer_critic` in a mappo yaml) the
        # critic reads its keys here; lolm_ppo_learner hands it the run's CriticConfig.
        self.net = TransformerCritic(config if config is not None else CriticConfig.from_args(args))

    def values(self, state: torch.Tensor) -> torch.Tensor:
        """state (..., state_size) -> V (...)."""
        lead = state.shape[:-1]
        tokens = self.tokenizer(state.reshape(-1, state.shape[-1]))
        return self.net(tokens).reshape(lead)

    def forward(self, batch, t: int | None = None) -> torch.Tensor:
        """batch["state"] (B, T, S) -> (B, T, N, 1), the same V(s) for every agent (common reward)."""
        state = batch["state"] if t is None else batch["state"][:, t : t + 1]
        v = self.values(state)
        return v.unsqueeze(-1).unsqueeze(-1).expand(*v.shape, self.n_agents, 1)
