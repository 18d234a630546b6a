"""The Transformer critic (METHOD section 5): state rows -> unit tokens -> V(s), on any map."""

from epymarl_llm.critic.config import CriticConfig
from epymarl_llm.critic.epymarl_critic import EpymarlTransformerCritic
from epymarl_llm.critic.state_tokens import TOKEN_FEATURES, EntityTokens, StateTokenizer, pad_tokens
from epymarl_llm.critic.transformer_critic import TransformerCritic

__all__ = [
    "CriticConfig",
    "EntityTokens",
    "EpymarlTransformerCritic",
    "StateTokenizer",
    "TOKEN_FEATURES",
    "TransformerCritic",
    "pad_tokens",
]
