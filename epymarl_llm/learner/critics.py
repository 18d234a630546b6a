"""The learner's critic, built from `critic_type` as EPyMARL's ppo_learner builds its own.

EPyMARL's `src/learners/ppo_learner.py` does `critic_registry[args.critic_type](scheme, args)`;
`critic_class` does the same lookup, one step from the yaml value to the class: the plugin's
Transformer critic, or an entry of EPyMARL's own registry (`modules.critics.REGISTRY`, from the
user's checkout). The accepted values, and why, are `critic.config.CRITIC_TYPES`; `CriticConfig`
refuses any other with a message listing them.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from epymarl_llm import registry_names
from epymarl_llm.config_errors import ConfigError
from epymarl_llm.critic import CriticConfig, EpymarlTransformerCritic


def critic_class(critic_type: str) -> type[nn.Module]:
    """The class `critic_type` names (`modules.critics.REGISTRY[critic_type]` for EPyMARL's)."""
    if critic_type == registry_names.CRITIC:
        return EpymarlTransformerCritic
    try:
        from modules.critics import REGISTRY  # EPyMARL's, from the user's checkout
    except ImportError as err:
        raise ConfigError(
            f"critic_type {critic_type!r} is EPyMARL's critic: its src/ must be importable "
            f"(run through EPyMARL's src/main.py) ({err})"
        ) from None
    return REGISTRY[critic_type]


def build_critic(config: CriticConfig, scheme: dict, args: Any, layout: Any) -> nn.Module:
    """The critic of `config.critic_type`, `Critic(scheme, args)`, giving V of shape (B, T, N, 1).

    The plugin's critic also gets the run's map layout (which state columns are which unit's) and
    its CriticConfig.
    """
    klass = critic_class(config.critic_type)
    if klass is EpymarlTransformerCritic:
        return klass(scheme, args, layout=layout, config=config)
    return klass(scheme, args)
