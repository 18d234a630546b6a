"""The critic's typed configuration, read once from EPyMARL's flat `args`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from epymarl_llm import registry_names
from epymarl_llm.config_dataclass import Says, config_dataclass, read_config
from epymarl_llm.config_errors import ConfigError

# critic_type -> what lolm_ppo_learner builds (`learner.critics.CRITICS` maps each to its class).
CRITIC_TYPES: dict[str, str] = {
    registry_names.CRITIC: "the plugin's Transformer critic over unit tokens (one set of weights for every map)",
    "cv_critic": "EPyMARL's centralised V critic (an MLP of the state; its sizes are one map's)",
}

PositiveInt = Annotated[int, Field(ge=1), Says("{key} must be a positive integer, got {value!r}")]


@config_dataclass(ConfigError)
class CriticConfig:
    """The learner's critic: which one (`critic_type`, EPyMARL's key) and the Transformer critic's
    width, depth and heads (METHOD section 5)."""

    critic_type: str = registry_names.CRITIC
    critic_d_model: PositiveInt = 128
    critic_layers: PositiveInt = 2
    critic_heads: PositiveInt = 4

    def __post_init__(self) -> None:
        if self.critic_type not in CRITIC_TYPES:
            choices = "; ".join(f"{k!r}: {v}" for k, v in CRITIC_TYPES.items())
            raise ConfigError(
                f"critic_type {self.critic_type!r} is not a critic lolm_ppo_learner can train; choose {choices}"
            )
        if self.critic_d_model % self.critic_heads:
            raise ConfigError(
                f"critic_d_model ({self.critic_d_model}) must be divisible by critic_heads ({self.critic_heads})"
            )

    @classmethod
    def from_args(cls, args: Any) -> CriticConfig:
        """The keys present in EPyMARL's args, defaults for the others: only for the critic under
        EPyMARL's own ppo_learner (a mappo yaml declares no critic_* keys). A lolm_mappo run reads
        them once, strictly, into `LolmRunConfig.critic`."""
        return read_config(cls, args, owner="critic", missing_ok=True)
