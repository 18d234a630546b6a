"""The learner's typed configuration, one part of the run's `LolmRunConfig` (read once from EPyMARL's args)."""

from __future__ import annotations

from dataclasses import dataclass

from epymarl_llm.config_errors import ConfigError
from epymarl_llm.learner.kl_schedule import KL_MODES, KlBetaSchedule


@dataclass
class LearnerConfig:
    """Keys of the KL-annealed MAPPO learner; EPyMARL's own keys keep their names and meaning.

    Defaults of EPyMARL's keys are those of its `default.yaml` + `algs/mappo.yaml`, so the learner
    trains like `--config=mappo` unless told otherwise.
    """

    # EPyMARL's keys (default.yaml, algs/mappo.yaml).
    n_agents: int
    n_actions: int
    lr: float = 0.0003
    gamma: float = 0.99
    q_nstep: int = 5
    add_value_last_step: bool = True
    standardise_rewards: bool = True
    standardise_returns: bool = False
    target_update_interval_or_tau: float = 0.01
    grad_norm_clip: float = 10.0
    learner_log_interval: int = 2000
    common_reward: bool = True
    use_cuda: bool = False
    epochs: int = 4
    eps_clip: float = 0.2
    entropy_coef: float = 0.001
    # The KL term (eqs. 8-10).
    # Defaults are the schedule's own, so each lives in one place.
    kl_mode: str = KlBetaSchedule.mode
    kl_lambda: float = KlBetaSchedule.lam
    kl_eps: float = KlBetaSchedule.eps
    kl_beta_max: float = KlBetaSchedule.beta_max
    kl_beta_init: float | None = KlBetaSchedule.beta_init
    kl_anneal_steps: int = KlBetaSchedule.anneal_steps
    # Measure KL(pi || pi_ref) also when the KL term is off or its beta is 0 (one more no-grad pass
    # per update): the KL ablation's curve beside the regularised run's. Never enters the loss.
    log_kl_to_reference: bool = False
    # Memory bound: at most this many prompts go through the backbone in one forward.
    max_prompts_per_forward: int = 64
    # On-policy batches take pi_old from the rollout's probabilities (`RolloutRecord`) instead of a
    # no-grad pass; off-policy batches and changed weights fall back to the pass.
    pi_old_from_rollout: bool = True
    # With `lora_layers: K`: memory (MiB) for the frozen lower layers' output of one update; chunks
    # beyond it run the whole body in every pass. 0 turns the reuse off (the plain path).
    lower_cache_mb: int = 4096

    def __post_init__(self) -> None:
        self._check_ranges()
        self._check_switches()
        try:
            self.kl_schedule()  # validates the KL keys with the schedule's own messages
        except ValueError as err:
            raise ConfigError(str(err)) from None

    def _check_ranges(self) -> None:
        """Every number within its range."""
        positive = {
            "n_agents": self.n_agents,
            "n_actions": self.n_actions,
            "lr": self.lr,
            "grad_norm_clip": self.grad_norm_clip,
            "epochs": self.epochs,
            "max_prompts_per_forward": self.max_prompts_per_forward,
            "target_update_interval_or_tau": self.target_update_interval_or_tau,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, got {value!r}")
        non_negative = {
            "q_nstep": self.q_nstep,
            "entropy_coef": self.entropy_coef,
            "learner_log_interval": self.learner_log_interval,
            "kl_lambda": self.kl_lambda,
            "kl_beta_max": self.kl_beta_max,
        }
        for name, value in non_negative.items():
            if not value >= 0:
                raise ConfigError(f"{name} must be >= 0, got {value!r}")
        if not 0 <= self.gamma <= 1:
            raise ConfigError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if not 0 < self.eps_clip < 1:
            raise ConfigError(f"eps_clip must be in (0, 1) (PPO's clip range, e.g. 0.2), got {self.eps_clip!r}")
        if isinstance(self.lower_cache_mb, bool) or not isinstance(self.lower_cache_mb, int) or self.lower_cache_mb < 0:
            raise ConfigError(f"lower_cache_mb must be an integer >= 0 (MiB; 0 = off), got {self.lower_cache_mb!r}")

    def _check_switches(self) -> None:
        """The on/off keys are booleans, the KL mode is known, and the reward is the team's."""
        if not isinstance(self.log_kl_to_reference, bool):
            raise ConfigError(f"log_kl_to_reference must be True or False, got {self.log_kl_to_reference!r}")
        if not isinstance(self.pi_old_from_rollout, bool):
            raise ConfigError(f"pi_old_from_rollout must be True or False, got {self.pi_old_from_rollout!r}")
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

    def kl_schedule(self) -> KlBetaSchedule:
        return KlBetaSchedule(
            mode=self.kl_mode,
            lam=self.kl_lambda,
            eps=self.kl_eps,
            beta_max=self.kl_beta_max,
            beta_init=self.kl_beta_init,
            anneal_steps=self.kl_anneal_steps,
        )
