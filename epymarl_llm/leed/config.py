"""LEED's typed configuration: the expert-loss keys, read once from EPyMARL's flat `args`.

The keys live in their own dataclass (not in `LolmRunConfig`'s parts) because they belong to two
algorithm configs, `lolm_leed` and `mappo_leed`, and not to `lolm_mappo`. Sacred already rejects a
`with` key the yaml does not declare; `from_args` also rejects any `demo_*` key that is not a field
(a typo in a hand-written yaml), and every field must be present (an outdated installed yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from epymarl_llm.config_errors import ConfigError

WEIGHTINGS = ("constant", "anneal", "dynamic")
PREFIX = "demo_"


class LeedConfigError(ConfigError):
    """A LEED key is missing, unknown or has an invalid value."""


@dataclass(frozen=True)
class LeedConfig:
    """The expert policy loss added to the PPO loss (LEED's policy optimisation module).

    Args:
        demo_path: folder written by `epymarl-llm demos generate` (its `manifest.json`); null = no
            demonstrations, which requires `demo_coef: 0`.
        demo_coef: c_demo, the expert loss's coefficient; 0 turns the expert loss off (the ablation).
        demo_weighting: how the coefficient is weighted over training:
            "constant": w = c_demo;
            "anneal": w = c_demo * max(0, 1 - t_env / demo_anneal_steps) (linear, like the KL's beta);
            "dynamic": w = c_demo * (1 - s), s = the policy's similarity to the demonstrator on the
            demonstration states (mean probability the policy gives the demonstrated action).
        demo_anneal_steps: T of the "anneal" weighting.
        demo_batch_episodes: demonstration episodes drawn (without replacement, cycling) for each
            expert-loss term; each PPO epoch adds one such term.
        demo_only_won: keep only the demonstrations whose episode was won.
        demo_keep_invalid: also train on agent-steps whose demonstrator answer was invalid (did not
            parse, or named an unavailable action); their recorded action is a uniformly random
            stand-in, so by default they are left out of the expert loss.
    """

    demo_path: str | None = None
    demo_coef: float = 1.0
    demo_weighting: str = "constant"
    demo_anneal_steps: int = 500000
    demo_batch_episodes: int = 4
    demo_only_won: bool = False
    demo_keep_invalid: bool = False

    def __post_init__(self) -> None:
        if self.demo_path is not None and (not isinstance(self.demo_path, str) or not self.demo_path):
            raise LeedConfigError(f"demo_path must be a folder path or null; got {self.demo_path!r}")
        if isinstance(self.demo_coef, bool) or not isinstance(self.demo_coef, (int, float)) or not self.demo_coef >= 0:
            raise LeedConfigError(f"demo_coef must be a number >= 0 (0 = no expert loss); got {self.demo_coef!r}")
        if self.demo_weighting not in WEIGHTINGS:
            raise LeedConfigError(f"demo_weighting must be one of {WEIGHTINGS}; got {self.demo_weighting!r}")
        for name in ("demo_anneal_steps", "demo_batch_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LeedConfigError(f"{name} must be a positive integer; got {value!r}")
        for name in ("demo_only_won", "demo_keep_invalid"):
            if not isinstance(getattr(self, name), bool):
                raise LeedConfigError(f"{name} must be True or False; got {getattr(self, name)!r}")

    @property
    def enabled(self) -> bool:
        return self.demo_coef > 0

    def check_runnable(self) -> None:
        """A run with the expert loss on needs demonstrations (the defaults alone do not name any)."""
        if self.enabled and self.demo_path is None:
            raise LeedConfigError(
                "demo_coef > 0 needs demonstrations: set demo_path=DIR (written by `epymarl-llm demos "
                "generate`), or demo_coef=0 for the run without the expert loss"
            )

    @classmethod
    def from_args(cls, args: Any) -> LeedConfig:
        values = args if isinstance(args, dict) else vars(args)
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in values]
        if missing:
            raise LeedConfigError(
                f"missing LEED config key(s) {', '.join(missing)}: the algorithm yaml is older than the "
                "plugin; run `epymarl-llm install EPYMARL_DIR` to refresh it"
            )
        unknown = sorted(k for k in values if k.startswith(PREFIX) and k not in names)
        if unknown:
            raise LeedConfigError(f"unknown LEED key(s) {', '.join(unknown)}; the keys are {', '.join(names)}")
        return cls(**{n: values[n] for n in names})
