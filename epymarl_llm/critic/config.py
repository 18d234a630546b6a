"""The critic's typed configuration, read once from EPyMARL's flat `args`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from epymarl_llm import registry_names
from epymarl_llm.config_errors import ConfigError

# critic_type -> what lolm_ppo_learner builds (`learner.critics.CRITICS` maps each to its class).
CRITIC_TYPES: dict[str, str] = {
    registry_names.CRITIC: "the plugin's Transformer critic over unit tokens (one set of weights for every map)",
    "cv_critic": "EPyMARL's centralised V critic (an MLP of the state; its sizes are one map's)",
}


@dataclass
class CriticConfig:
    """The learner's critic: which one (`critic_type`, EPyMARL's key) and the Transformer critic's
    width, depth and heads (METHOD section 5)."""

    critic_type: str = registry_names.CRITIC
    critic_d_model: int = 128
    critic_layers: int = 2
    critic_heads: int = 4

    def __post_init__(self) -> None:
        if self.critic_type not in CRITIC_TYPES:
            choices = "; ".join(f"{k!r}: {v}" for k, v in CRITIC_TYPES.items())
            raise ConfigError(
                f"critic_type {self.critic_type!r} is not a critic lolm_ppo_learner can train; choose {choices}"
            )
        for f in fields(self):
            if f.name == "critic_type":
                continue
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{f.name} must be a positive integer, got {value!r}")
        if self.critic_d_model % self.critic_heads:
            raise ConfigError(
                f"critic_d_model ({self.critic_d_model}) must be divisible by critic_heads ({self.critic_heads})"
            )

    @classmethod
    def from_args(cls, args: Any) -> CriticConfig:
        """The keys present in EPyMARL's args, defaults for the others: only for the critic under
        EPyMARL's own ppo_learner (a mappo yaml declares no critic_* keys). A lolm_mappo run reads
        them once, strictly, into `LolmRunConfig.critic`."""
        source = vars(args) if not isinstance(args, dict) else args
        return cls(**{f.name: source[f.name] for f in fields(cls) if f.name in source})
