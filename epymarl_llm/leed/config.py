"""LEED's typed configuration: the expert-loss keys, read once from EPyMARL's flat `args`.

The keys live in their own dataclass (not in `LolmRunConfig`'s parts) because they belong to two
algorithm configs, `lolm_leed` and `mappo_leed`, and not to `lolm_mappo`. Sacred already rejects a
`with` key the yaml does not declare; `from_args` also rejects any `demo_*` key that is not a field
(a typo in a hand-written yaml, with the nearest key), and every field must be present (an outdated
installed yaml).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from epymarl_llm.config_dataclass import Says, config_dataclass, read_config
from epymarl_llm.config_errors import ConfigError

WEIGHTINGS = ("constant", "anneal", "dynamic")
PREFIX = "demo_"


class LeedConfigError(ConfigError):
    """A LEED key is missing, unknown or has an invalid value."""


PositiveInt = Annotated[int, Field(ge=1), Says("{key} must be a positive integer; got {value!r}")]
Switch = Annotated[bool, Says("{key} must be True or False; got {value!r}")]


@config_dataclass(LeedConfigError, frozen=True)
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

    demo_path: Annotated[
        str | None, Field(min_length=1), Says("{key} must be a folder path or null; got {value!r}")
    ] = None
    demo_coef: Annotated[
        float, Field(ge=0), Says("{key} must be a number >= 0 (0 = no expert loss); got {value!r}")
    ] = 1.0
    demo_weighting: str = "constant"
    demo_anneal_steps: PositiveInt = 500000
    demo_batch_episodes: PositiveInt = 4
    demo_only_won: Switch = False
    demo_keep_invalid: Switch = False

    def __post_init__(self) -> None:
        if self.demo_weighting not in WEIGHTINGS:
            raise LeedConfigError(f"demo_weighting must be one of {WEIGHTINGS}; got {self.demo_weighting!r}")

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
        return read_config(cls, args, owner="LEED", prefix=PREFIX)
