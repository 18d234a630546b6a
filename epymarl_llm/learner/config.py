"""The learner's typed configuration, one part of the run's `LolmRunConfig` (read once from EPyMARL's args)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from epymarl_llm.config_dataclass import Says, config_dataclass
from epymarl_llm.config_errors import ConfigError
from epymarl_llm.learner.kl_schedule import KL_MODES, KlBetaSchedule

PositiveInt = Annotated[int, Field(gt=0), Says("{key} must be > 0, got {value!r}")]
Positive = Annotated[float, Field(gt=0), Says("{key} must be > 0, got {value!r}")]
NonNegativeInt = Annotated[int, Field(ge=0), Says("{key} must be >= 0, got {value!r}")]
NonNegative = Annotated[float, Field(ge=0), Says("{key} must be >= 0, got {value!r}")]
Switch = Annotated[bool, Says("{key} must be True or False, got {value!r}")]
_MEMORY_MESSAGE = "{key} must be 'auto' or an integer >= 0 (MiB; 0 = off), got {value!r}"


@config_dataclass(ConfigError)
class LearnerConfig:
    """Keys of the KL-annealed MAPPO learner; EPyMARL's own keys keep their names and meaning.

    Defaults of EPyMARL's keys are those of its `default.yaml` + `algs/mappo.yaml`, so the learner
    trains like `--config=mappo` unless told otherwise.
    """

    # EPyMARL's keys (default.yaml, algs/mappo.yaml).
    n_agents: PositiveInt
    n_actions: PositiveInt
    lr: Positive = 0.0003
    # The policy's (LoRA + head) optimiser steps over which its lr ramps linearly up to `lr`:
    # step k (from 0) uses lr * min(1, (k + 1) / N). 0: no warm-up (EPyMARL's constant lr). Adam's
    # first steps move every parameter by about lr whatever the gradient, so a fresh 1024-wide head
    # on a 576-wide body moves the policy far in one step (docs/RESULTS.md); the KL term cannot stop
    # it there, since its gradient is zero while the policy equals its reference. The critic keeps `lr`.
    lr_warmup_steps: NonNegativeInt = 0
    gamma: Annotated[float, Field(ge=0, le=1), Says("{key} must be in [0, 1], got {value!r}")] = 0.99
    q_nstep: NonNegativeInt = 5
    add_value_last_step: bool = True
    standardise_rewards: bool = True
    standardise_returns: bool = False
    target_update_interval_or_tau: Positive = 0.01
    grad_norm_clip: Positive = 10.0
    learner_log_interval: NonNegativeInt = 2000
    common_reward: bool = True
    use_cuda: bool = False
    epochs: PositiveInt = 4
    eps_clip: Annotated[
        float, Field(gt=0, lt=1), Says("{key} must be in (0, 1) (PPO's clip range, e.g. 0.2), got {value!r}")
    ] = 0.2
    entropy_coef: NonNegative = 0.001
    # The KL term (eqs. 8-10).
    # Defaults are the schedule's own, so each lives in one place.
    kl_mode: str = KlBetaSchedule.mode
    kl_lambda: NonNegative = KlBetaSchedule.lam
    kl_eps: float = KlBetaSchedule.eps
    kl_beta_max: NonNegative = KlBetaSchedule.beta_max
    kl_beta_init: float | None = KlBetaSchedule.beta_init
    kl_anneal_steps: int = KlBetaSchedule.anneal_steps
    # Measure KL(pi || pi_ref) also when the KL term is off or its beta is 0 (one more no-grad pass
    # per update): the KL ablation's curve beside the regularised run's. Never enters the loss.
    log_kl_to_reference: Switch = False
    # Memory bound: at most this many prompts go through the backbone in one forward.
    max_prompts_per_forward: PositiveInt = 64
    # MiB the saved activations of one gradient forward may take: the update runs fewer prompts at
    # once than `max_prompts_per_forward` where they would not fit (measured at the first update
    # and again for a longer prompt, `chunk_memory`). "auto": a quarter of the memory free at the update (the GPU's, or the
    # host's within its cgroup limit); 0: off (`max_prompts_per_forward` alone, the plain path).
    update_memory_mb: Annotated[int | str, Says(_MEMORY_MESSAGE)] = "auto"
    # On-policy batches take pi_old from the rollout's probabilities (`RolloutRecord`) instead of a
    # no-grad pass; off-policy batches and changed weights fall back to the pass.
    pi_old_from_rollout: Switch = True
    # With `lora_layers: K`: memory (MiB) for the frozen lower layers' output of one update; chunks
    # beyond it run the whole body in every pass. 0 turns the reuse off (the plain path).
    lower_cache_mb: Annotated[int, Field(ge=0), Says("{key} must be an integer >= 0 (MiB; 0 = off), got {value!r}")] = (
        4096
    )
    # With `lora_layers: K` and an on-policy batch: the lower layers' output comes from the rollout,
    # which computed it for every training step (`RolloutRecord.record_lower`, within
    # `lower_cache_mb`); the learner then never runs the frozen layers. False: the learner runs them.
    lower_from_rollout: Switch = True

    def __post_init__(self) -> None:
        memory = self.update_memory_mb
        if memory != "auto" and (isinstance(memory, bool) or not isinstance(memory, int) or memory < 0):
            raise ConfigError(_MEMORY_MESSAGE.format(key="update_memory_mb", value=memory))
        if self.kl_mode not in KL_MODES:
            raise ConfigError(
                f"kl_mode must be one of {KL_MODES} (anneal: eqs. 9-10, fixed: constant "
                f"kl_beta_init, none: no KL term), got {self.kl_mode!r}"
            )
        if not self.common_reward:
            raise ConfigError(
                "the Transformer critic values the global state once for the team, so the "
                "learner needs common_reward=True (SMAC's reward is common anyway)"
            )
        try:
            self.kl_schedule()  # validates the other KL keys with the schedule's own messages
        except ValueError as err:
            raise ConfigError(str(err)) from None

    def kl_schedule(self) -> KlBetaSchedule:
        return KlBetaSchedule(
            mode=self.kl_mode,
            lam=self.kl_lambda,
            eps=self.kl_eps,
            beta_max=self.kl_beta_max,
            beta_init=self.kl_beta_init,
            anneal_steps=self.kl_anneal_steps,
        )
