"""The Transformer critic V(s) over entity tokens (METHOD section 5, paper section 4.4)."""

from __future__ import annotations

import torch
from torch import nn

from epymarl_llm.critic.config import CriticConfig
from epymarl_llm.critic.state_tokens import TOKEN_FEATURES, EntityTokens
from epymarl_llm.critic.unit_vocab import SIDES, UNIT_TYPES


class TransformerCritic(nn.Module):
    """Entity tokens -> linear to d_model + unit-type and side embeddings -> Transformer encoder ->
    mean over live units -> linear -> V(s).

    No weight depends on the number of units, so the same weights run on any map. Dead and padded
    units are masked out of attention and of the mean, so they cannot change the value.
    """

    def __init__(self, config: CriticConfig):
        super().__init__()
        d = config.critic_d_model
        self.config = config
        self.input = nn.Linear(len(TOKEN_FEATURES), d)
        self.unit_type = nn.Embedding(len(UNIT_TYPES), d)
        self.side = nn.Embedding(len(SIDES), d)
        layer = nn.TransformerEncoderLayer(
            d, config.critic_heads, dim_feedforward=4 * d, dropout=0.0, batch_first=True, norm_first=True
        )
        # The nested-tensor fast path would change numerics with padding; keep one code path.
        self.encoder = nn.TransformerEncoder(layer, config.critic_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.value = nn.Linear(d, 1)

    def forward(self, tokens: EntityTokens) -> torch.Tensor:
        """tokens with features (B, E, F) -> values (B,)."""
        live = tokens.live
        x = self.input(tokens.features) + self.unit_type(tokens.type_ids) + self.side(tokens.side_ids)
        # A state with no live unit (after an episode's end, or padding) would mask every key and give
        # nan: let its tokens attend to each other; the mean below still ignores them, so V = head(0).
        any_live = live.any(dim=-1, keepdim=True)
        padding_mask = ~live & any_live
        h = self.norm(self.encoder(x, src_key_padding_mask=padding_mask))
        weights = live.to(h.dtype).unsqueeze(-1)
        pooled = (h * weights).sum(-2) / weights.sum(-2).clamp(min=1.0)
        return self.value(pooled).squeeze(-1)
