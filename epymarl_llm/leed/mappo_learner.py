"""What `mappo_leed_learner` adds to EPyMARL's own PPOLearner (mappo with its RNN agent): LEED's expert loss.

The learner class (`mappo_leed_learner.MappoLeedLearner`) subclasses `learners.ppo_learner.PPOLearner`
from the user's checkout; no EPyMARL code is copied. EPyMARL's `train` computes each epoch's policy loss, then
calls `agent_optimiser.zero_grad()`, `pg_loss.backward()`, the gradient clip and `step()`. The
optimiser is wrapped so that its `zero_grad` also adds the expert loss's gradient; `pg_loss`'s
backward then accumulates on top, so every epoch steps on d(L_PPO + w_t * L_demo)/dtheta after
one clip, exactly the mixed loss. The expert loss unrolls the mac on demonstration episodes after
the epoch's own forward, so the PPO graph is untouched (`RnnDemoPolicy`).
"""

from __future__ import annotations

from typing import Any

from epymarl_llm.leed.demo_policies import RnnDemoPolicy
from epymarl_llm.leed.expert_loss import ExpertLoss


class ExpertGradientOptimiser:
    """An optimiser whose `zero_grad()` is followed by the extra loss's gradient; all else delegated."""

    def __init__(self, optimiser: Any, extra_loss: ExpertLoss, clock: Any):
        self._optimiser, self._extra_loss, self._clock = optimiser, extra_loss, clock

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._optimiser.zero_grad(set_to_none=set_to_none)
        self._extra_loss.accumulate(self._clock())

    def __getattr__(self, name: str) -> Any:  # step, state_dict, load_state_dict, param_groups, ...
        return getattr(self._optimiser, name)


class MappoLeedMixin:
    """Goes before EPyMARL's PPOLearner in the bases."""

    def __init__(self, mac: Any, scheme: dict, logger: Any, args: Any):
        super().__init__(mac, scheme, logger, args)
        self._t_env = 0
        device = "cuda" if getattr(args, "use_cuda", False) else "cpu"
        self.extra_loss = ExpertLoss.from_args(args, RnnDemoPolicy(mac, scheme, args.n_agents, device), logger)
        if self.extra_loss is not None:
            self.agent_optimiser = ExpertGradientOptimiser(self.agent_optimiser, self.extra_loss, lambda: self._t_env)

    def train(self, batch: Any, t_env: int, episode_num: int):
        self._t_env = t_env
        return super().train(batch, t_env, episode_num)
