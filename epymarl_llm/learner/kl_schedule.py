"""The annealed KL coefficient beta_t (METHOD section 6, paper eqs. 9 and 10)."""

from __future__ import annotations

import math
from dataclasses import dataclass

KL_MODES = ("anneal", "fixed", "none")


@dataclass
class KlBetaSchedule:
    """beta_t for L = L_MAPPO + beta_t * L_KL.

    Modes:
        anneal: beta_t = beta_0 * max(0, 1 - t_env / anneal_steps) (eq. 9); beta_0 is set once, at the
            first update, as min(cap, lam * |L_MAPPO| / (L_KL + eps)) (eq. 10), unless `beta_init`
            is given, which is used as beta_0 instead (and is not capped: the user chose it).
        fixed: beta_t = beta_init for every t_env.
        none: beta_t = 0 and the KL term is not computed at all (ablation, transfer runs).

    The state that a resumed run needs (beta_0 once started) is in `state_dict`.
    """

    mode: str = "anneal"
    lam: float = 1.0
    eps: float = 1e-3
    beta_max: float = 1.0
    beta_init: float | None = None
    anneal_steps: int = 1_000_000
    beta_0: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in KL_MODES:
            raise ValueError(f"kl_mode must be one of {KL_MODES}, got {self.mode!r}")
        for name, value in (("kl_lambda", self.lam), ("kl_beta_max", self.beta_max)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if not self.eps > 0:
            raise ValueError(f"kl_eps must be > 0 (it keeps eq. 10 finite), got {self.eps}")
        if self.beta_init is not None and not self.beta_init >= 0:
            raise ValueError(f"kl_beta_init must be >= 0 or null (automatic start), got {self.beta_init}")
        if not self.anneal_steps > 0:
            raise ValueError(f"kl_anneal_steps must be > 0 (t_env steps to reach beta=0), got {self.anneal_steps}")
        if self.mode == "fixed" and self.beta_init is None:
            raise ValueError("kl_mode=fixed needs kl_beta_init set to the constant beta (e.g. kl_beta_init=0.1)")
        if self.beta_0 is None and self.beta_init is not None and self.mode != "none":
            self.beta_0 = float(self.beta_init)

    @property
    def enabled(self) -> bool:
        """False when the KL term is switched off: the learner then skips the reference pass."""
        return self.mode != "none"

    @property
    def needs_start(self) -> bool:
        """True until beta_0 is known: the learner must then call `start` at its first update."""
        return self.enabled and self.beta_0 is None

    def start(self, mappo_loss: float, kl_loss: float) -> float:
        """Set beta_0 from eq. 10 with the first update's L_MAPPO and L_KL; returns beta_0.

        L_KL is (nearly) zero at the first update because LoRA starts at zero: `eps` keeps the ratio
        finite and `beta_max` caps it (paper section 4.3).
        """
        if not self.needs_start:
            raise RuntimeError("beta_0 is already set; start() runs once, at the first update")
        if not (math.isfinite(mappo_loss) and math.isfinite(kl_loss)):
            raise ValueError(f"cannot start the KL schedule from non-finite losses ({mappo_loss}, {kl_loss})")
        raw = self.lam * abs(mappo_loss) / (max(kl_loss, 0.0) + self.eps)
        self.beta_0 = min(self.beta_max, raw)
        return self.beta_0

    def beta(self, t_env: int) -> float:
        """beta_t at environment step `t_env` (eq. 9)."""
        if not self.enabled:
            return 0.0
        if self.beta_0 is None:
            raise RuntimeError("beta_0 is not set yet: call start() at the first update")
        if self.mode == "fixed":
            return self.beta_0
        return self.beta_0 * max(0.0, 1.0 - t_env / self.anneal_steps)

    def state_dict(self) -> dict:
        return {"mode": self.mode, "beta_0": self.beta_0}

    def load_state_dict(self, state: dict) -> None:
        """Continue a saved schedule; beta_0 from a run with another mode is ignored.

        A transfer run with kl_mode=none loads a source run's checkpoint and must stay KL-free; a run
        that started with kl_mode=anneal resumes with its beta_0, so the decay continues where it was.
        """
        if state.get("mode") == self.mode and self.enabled and self.beta_init is None:
            self.beta_0 = state.get("beta_0")
