"""LEED's expert policy loss, as an extra loss term a learner calls once per PPO epoch.

    L = L_PPO + w_t * L_demo,   L_demo = -mean over trained demonstration agent-steps of log pi(a_demo | o)

where log pi is the policy's log-softmax over the *available* actions of the demonstration state
(the cross-entropy to the demonstrator's action), and w_t is `demo_coef` weighted by
`demo_weighting` (see `LeedConfig`). The trained steps are the live ones (filled, agent alive)
whose demonstrator answer was valid: where a language model's answer did not parse, the recorded
action is a uniformly random stand-in, not expert behaviour (`demo_keep_invalid: True` keeps them).
The dynamic weight uses the similarity

    s = mean over trained demonstration agent-steps of pi(a_demo | o)

(the expected agreement of the policy with the demonstrator on the demonstration states), as
measured by the previous expert-loss term: w = demo_coef * (1 - s). A policy that already
acts like the demonstrator gets little expert guidance and learns from its own experience.

`accumulate` adds d(w * L_demo)/dtheta to the parameters' `.grad` and does not step: the learner's
optimiser step then applies the PPO and expert gradients together, after the same gradient clip.
The term reaches the policy through a `DemoPolicy` adapter (see `demo_policies`), so the same code
serves the LLM policy of lolm_mappo and EPyMARL's RNN agent of mappo.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from epymarl_llm.leed.config import LeedConfig
from epymarl_llm.leed.store import DemoEpisodes, load_demos

LOG_PREFIX = "leed_"


class DemoPolicy(Protocol):
    """How the expert loss reads a policy: log-probabilities of demonstration steps, in chunks."""

    def log_prob_chunks(
        self, episodes: DemoEpisodes, steps: np.ndarray | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (log_probs (m, A) fp32 with gradient, demo actions (m,) long) over the agent-steps
        `steps` (E, T, N) bool of `episodes` (default: `DemoEpisodes.live()`), in chunks of any
        order; log_probs are masked to the avail actions."""


@dataclass
class ExpertStats:
    loss: float
    weight: float
    similarity: float
    agreement: float  # share of demonstration steps where the policy's most probable action is the demonstrator's
    steps: int
    invalid_masked: float = 0.0  # share of the minibatch's live steps left out: invalid demonstrator answers


def demo_weight(config: LeedConfig, t_env: int, similarity: float) -> float:
    """w_t of the expert loss (LeedConfig.demo_weighting)."""
    if config.demo_weighting == "constant":
        return float(config.demo_coef)
    if config.demo_weighting == "anneal":
        return float(config.demo_coef) * max(0.0, 1.0 - t_env / config.demo_anneal_steps)
    return float(config.demo_coef) * (1.0 - min(max(similarity, 0.0), 1.0))


class ExpertLoss:
    """The extra loss term: `accumulate(t_env)` once per epoch, before the learner's optimiser step."""

    def __init__(
        self,
        config: LeedConfig,
        demos: DemoEpisodes,
        policy: DemoPolicy,
        logger: Any = None,
        log_interval: int = 10000,
        seed: int = 0,
    ):
        self.config, self.demos, self.policy, self.logger = config, demos, policy, logger
        self.log_interval = log_interval
        self.rng = np.random.default_rng(seed)
        self._order: list[int] = []
        self.similarity = 0.0  # before any measurement: full weight in the dynamic mode
        self.last: ExpertStats | None = None
        self._log_t = -log_interval - 1

    @classmethod
    def from_args(cls, args: Any, policy: DemoPolicy, logger: Any = None) -> ExpertLoss | None:
        """None when `demo_coef` is 0 (the ablation); else the demonstrations of `demo_path`, checked
        against the run's agent, action and observation sizes."""
        config = LeedConfig.from_args(args)
        config.check_runnable()
        if not config.enabled:
            return None
        obs_size = getattr(args, "obs_shape", None)
        demos, manifest = load_demos(
            config.demo_path,
            n_agents=args.n_agents,
            n_actions=args.n_actions,
            obs_size=obs_size if isinstance(obs_size, int) else None,
            only_won=config.demo_only_won,
        )
        run_map = (getattr(args, "env_args", None) or {}).get("map_name")
        if run_map and manifest.get("map_name") and manifest["map_name"] != run_map:
            raise ValueError(
                f"demo_path {config.demo_path} holds demonstrations of {manifest['map_name']!r}, "
                f"but this run plays {run_map!r}; generate demonstrations on {run_map!r}"
            )
        info = getattr(logger, "sacred_info", None)
        if info is not None:
            live = demos.live()
            info["leed_demos"] = {
                "path": config.demo_path,
                "episodes": len(demos),
                "demonstrator": manifest.get("demonstrator"),
                "stats": manifest.get("stats"),
                "invalid_steps": float((live & (demos.valid == 0)).sum() / max(int(live.sum()), 1)),
                "invalid_steps_trained": config.demo_keep_invalid,
            }
        return cls(
            config,
            demos,
            policy,
            logger,
            int(getattr(args, "learner_log_interval", 10000)),
            int(getattr(args, "seed", 0) or 0),
        )

    def _next_episodes(self) -> DemoEpisodes:
        """`demo_batch_episodes` distinct episodes; every pass over the set is a fresh permutation.

        A minibatch that spans two passes takes the old pass's leftover and the first episodes of
        the new pass that it does not already hold; the new pass's copies of the leftover come
        right after it. So no minibatch repeats an episode and each pass uses each episode once.
        """
        k = min(self.config.demo_batch_episodes, len(self.demos))
        if len(self._order) < k:
            leftover = self._order
            fresh = [int(i) for i in self.rng.permutation(len(self.demos))]
            head = [i for i in fresh if i not in leftover][: k - len(leftover)]
            self._order = leftover + head + [i for i in fresh if i not in head]
        idx, self._order = self._order[:k], self._order[k:]
        return self.demos.select(np.array(idx))

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to draw the same minibatches and weights as an uninterrupted one."""
        return {"rng": self.rng.bit_generator.state, "order": list(self._order), "similarity": self.similarity}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self._order = [int(i) for i in state["order"] if 0 <= int(i) < len(self.demos)]
        self.similarity = float(state["similarity"])

    def accumulate(self, t_env: int) -> ExpertStats:
        """Add d(w_t * L_demo)/dtheta to `.grad` (chunk by chunk; the sum is the full minibatch's)."""
        episodes = self._next_episodes()
        live = episodes.live()
        steps = live if self.config.demo_keep_invalid else live & (episodes.valid > 0)
        m, n_live = int(steps.sum()), int(live.sum())
        weight = demo_weight(self.config, t_env, self.similarity)
        loss_sum, prob_sum, agree = 0.0, 0.0, 0
        for log_probs, actions in self.policy.log_prob_chunks(episodes, steps):
            taken = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            chunk_loss = -taken.sum() / max(m, 1)
            if weight > 0:
                (weight * chunk_loss).backward()
            loss_sum += float(chunk_loss.detach())
            prob_sum += float(taken.detach().exp().sum())
            agree += int((log_probs.detach().argmax(-1) == actions).sum())
        self.similarity = prob_sum / max(m, 1)
        self.last = ExpertStats(loss_sum, weight, self.similarity, agree / max(m, 1), m, (n_live - m) / max(n_live, 1))
        if self.logger is not None and t_env - self._log_t >= self.log_interval:
            for key in ("loss", "weight", "similarity", "agreement", "invalid_masked"):
                self.logger.log_stat(LOG_PREFIX + key, getattr(self.last, key), t_env)
            self._log_t = t_env
        return self.last
