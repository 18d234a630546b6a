"""The critic's typed configuration, read once from EPyMARL's flat `args`."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class CriticConfig:
    """Width, depth and heads of the Transformer critic (METHOD section 5)."""

    critic_d_model: int = 128
    critic_layers: int = 2
    critic_heads: int = 4

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{f.name} must be a positive integer, got {value!r}")
        if self.critic_d_model % self.critic_heads:
            raise ValueError(f"critic_d_model ({self.critic_d_model}) must be divisible by critic_heads "
                             f"({self.critic_heads})")

    @classmethod
    def from_args(cls, args: Any) -> "CriticConfig":
        source = vars(args) if not isinstance(args, dict) else args
        return cls(**{f.name: source[f.name] for f in fields(cls) if f.name in source})
