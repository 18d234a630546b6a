"""Progress lines during a PPO update, through EPyMARL's console logger.

On CPU one update of an LLM policy takes minutes, the longest silent part of a run. The learner
reports every minibatch it finishes: the no-grad pass for pi_old and the reference, then each
epoch's. The minibatches are the learner's forward chunks (`max_prompts_per_forward` prompts,
gradients accumulated, one optimiser step per epoch). A line is written when `interval_s` seconds
have passed since the update started or since the last line, so a short update prints nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PRE_PASS = "pi_old/reference pass"


class UpdateProgress:
    """One line per `interval_s` of an update: the epoch and the minibatch reached."""

    def __init__(
        self, log: Callable[[str], None] | None, interval_s: float, clock: Callable[[], float] = time.monotonic
    ):
        self.log = log if interval_s > 0 else None
        self.interval_s = interval_s
        self.clock = clock
        self.t_env = self.epochs = self.minibatches = self.agent_steps = 0
        self.phase = PRE_PASS
        self.started = self._last = 0.0

    def start(self, t_env: int, epochs: int, minibatches: int, agent_steps: int) -> None:
        """A new update of `agent_steps` live agent-steps in `minibatches` forwards per pass."""
        self.t_env, self.epochs, self.minibatches, self.agent_steps = t_env, epochs, minibatches, agent_steps
        self.phase = PRE_PASS
        self.started = self._last = self.clock()

    def epoch(self, index: int) -> None:
        """Epoch `index` (0-based) begins."""
        self.phase = f"epoch {index + 1}/{self.epochs}"

    def minibatch_done(self, index: int) -> None:
        """Minibatch `index` (0-based) of the current pass is done."""
        if self.log is None:
            return
        now = self.clock()
        if now - self._last < self.interval_s:
            return
        self._last = now
        self.log(
            f"update at t_env {self.t_env}: {self.phase}, minibatch {index + 1}/{self.minibatches} done, "
            f"{now - self.started:.0f} s in ({self.agent_steps} agent-steps, {self.epochs} epochs)"
        )
