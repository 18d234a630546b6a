"""The attention action head (paper section 4.4; METHOD section 4).

A query from the last token's hidden state scores a key per action: six base-action keys
(`E_base`: no-op, stop, north, south, east, west) and one attack key per target slot. The number
of target slots is read from each batch, so one head serves every map.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from epymarl_llm.actions import MASKED_LOGIT, N_BASE_ACTIONS

__all__ = ["INPUT_NORMS", "MASKED_LOGIT", "N_BASE_ACTIONS", "AttentionActionHead", "mask_logits"]

INPUT_NORMS = ("none", "rms")
_RMS_EPS = 1e-6  # the body's own RMSNorm epsilon order: a zero state stays zero


class AttentionActionHead(nn.Module):
    """Logits over `6 + n_targets` actions from hidden states; float32 throughout.

    Args:
        hidden_size: H, the backbone's hidden width.
        action_dim: d_a, the key/query width (paper: 1024).
        attack_keys: "shared": the paper's single attack embedding `e_att` replicated per target;
            "entity": `e_att + W_t pool(target span)`, so each target has its own key. `W_t` starts
            at zero, so an untrained entity head equals the paper's head.
        input_norm: "none" (the paper): the body's final states as they are; "rms": each state
            divided by its root mean square first, without weights. A pretrained body's final norm
            has learned gains (SmolLM2's states are about twice a random body's in norm and 6x at
            the largest feature), and Adam's first steps move the logits in proportion to the
            input's scale: "rms" gives every body the same input scale, so pretrained and random
            init can be compared for what the body knows rather than how large its states are.
    """

    def __init__(
        self, hidden_size: int, action_dim: int, attack_keys: str = "entity", input_norm: str = "none"
    ) -> None:
        super().__init__()
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {', '.join(INPUT_NORMS)}; got {input_norm!r}")
        self.hidden_size = hidden_size
        self.action_dim = action_dim
        self.attack_keys = attack_keys
        self.input_norm = input_norm
        self.query = nn.Linear(hidden_size, action_dim)
        self.base_keys = nn.Parameter(torch.randn(N_BASE_ACTIONS, action_dim) * 0.02)
        self.attack_key = nn.Parameter(torch.randn(action_dim) * 0.02)
        self.target_key = nn.Linear(hidden_size, action_dim, bias=False) if attack_keys == "entity" else None
        if self.target_key is not None:
            nn.init.zeros_(self.target_key.weight)

    def forward(self, h: torch.Tensor, n_targets: int, target_features: torch.Tensor | None = None) -> torch.Tensor:
        """Unmasked logits.

        Args:
            h: (M, H) hidden state of each prompt's last token.
            n_targets: number of attack/heal target slots of the map.
            target_features: (M, n_targets, H) pooled hidden states of each target's description;
                required when `attack_keys == "entity"`.
        Returns:
            (M, 6 + n_targets) float32 logits `q K^T / sqrt(d_a)`.
        """
        q = self.query(self._scaled(h))  # (M, d_a)
        base = q @ self.base_keys.T  # (M, 6)
        if self.target_key is None:
            # Paper: e_att replicated n_targets times -> identical attack logits for all targets.
            attack = (q @ self.attack_key).unsqueeze(1).expand(-1, n_targets)
        else:
            if target_features is None or target_features.shape[:2] != (h.shape[0], n_targets):
                raise ValueError(f"attack_keys='entity' needs target_features of shape ({h.shape[0]}, {n_targets}, H)")
            keys = self.attack_key + self.target_key(self._scaled(target_features))  # (M, T, d_a)
            attack = torch.einsum("md,mtd->mt", q, keys)
        return torch.cat([base, attack], dim=1) / math.sqrt(self.action_dim)

    def _scaled(self, states: torch.Tensor) -> torch.Tensor:
        """float32 states, divided by their root mean square over the hidden axis when `input_norm == "rms"`."""
        states = states.float()
        if self.input_norm == "rms":
            states = states * torch.rsqrt(states.pow(2).mean(dim=-1, keepdim=True) + _RMS_EPS)
        return states


def mask_logits(logits: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """(M, A) logits with unavailable actions (avail False) set to `MASKED_LOGIT`."""
    return logits.masked_fill(~avail, MASKED_LOGIT)
