"""Progress lines during a rollout, through EPyMARL's console logger.

EPyMARL prints nothing between "Beginning training" and the end of the first batch of episodes,
which with an LLM policy on CPU is minutes. The plugin's runner calls `attach(runner)` once; it
wraps the mac's `select_actions` (EPyMARL's runners call it once per step, for the envs still
running: `bs` is the list of their indices in the parallel runner) and logs, on the first step and
then every `progress_interval_s` seconds: the episodes finished, env steps/s and agent-steps/s (live
agents only: a dead agent's step costs no forward) over the last interval. The lines go to
EPyMARL's `console_logger`, one line each (no progress bar), so Sacred's captured output stays
readable; nothing goes to Sacred's metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_ATTACHED = "_lolm_progress"


class RolloutProgress:
    """Counts env steps and live agent-steps; logs one line per interval."""

    def __init__(
        self,
        log: Callable[[str], None],
        n_envs: int,
        n_agents: int,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.log = log
        self.n_envs = n_envs
        self.n_agents = n_agents
        self.interval_s = interval_s
        self.clock = clock
        self.started: float | None = None
        self.episodes_done = 0  # in rollouts that have ended
        self.rollout_envs = 0  # envs that started the current rollout
        self.env_steps = self.agent_steps = 0
        self._last = (0.0, 0, 0)  # (time, env steps, agent steps) at the last line

    def step(self, t_ep: int, active_envs: int, live_agents: int, t_env: int, test_mode: bool) -> None:
        """One call of `select_actions`: `active_envs` envs step, with `live_agents` live agents in all."""
        now = self.clock()
        if t_ep == 0:  # a new rollout: the last one's envs have all finished
            self.episodes_done += self.rollout_envs
            self.rollout_envs = active_envs
        if self.started is None:
            self.started = now
            self._last = (now, 0, 0)
            self.log(
                f"rollout started: {self.n_envs} env(s) x {self.n_agents} agents; a progress line every "
                f"{self.interval_s:g} s (progress_interval_s)"
            )
        self.env_steps += active_envs
        self.agent_steps += live_agents
        last_t, last_env, last_agent = self._last
        if now - last_t >= self.interval_s:
            span = now - last_t
            finished = self.episodes_done + max(0, self.rollout_envs - active_envs)
            self.log(
                f"rollout{' (test)' if test_mode else ''}: t_env {t_env}, {finished} episodes finished, "
                f"{self.env_steps} env steps in {now - self.started:.0f} s; last {span:.0f} s: "
                f"{(self.env_steps - last_env) / span:.2f} env steps/s, "
                f"{(self.agent_steps - last_agent) / span:.1f} agent-steps/s"
            )
            self._last = (now, self.env_steps, self.agent_steps)


def _live_agents(ep_batch: Any, bs: Any, t_ep: int) -> int:
    """Live agents (some action besides no-op available) over the stepping envs."""
    from epymarl_llm.actions import dead_agents

    avail = ep_batch["avail_actions"][bs, t_ep]
    return int((~dead_agents(avail)).sum())


def attach(runner: Any) -> None:
    """Wrap `runner.mac.select_actions` once (idempotent); `progress_interval_s: 0` turns it off."""
    mac = getattr(runner, "mac", None)
    if mac is None or getattr(runner, _ATTACHED, None) is not None:
        return
    config = getattr(mac, "config", None)
    interval = float(getattr(getattr(config, "integration", None), "progress_interval_s", 30.0))
    setattr(runner, _ATTACHED, False)
    if interval <= 0:
        return
    console = getattr(getattr(runner, "logger", None), "console_logger", None)
    if console is None:  # not EPyMARL's Logger: nowhere to write
        return
    n_envs = int(getattr(runner, "batch_size", 1))
    progress = RolloutProgress(console.info, n_envs, int(getattr(runner.args, "n_agents", 0)), interval)
    setattr(runner, _ATTACHED, progress)
    select = mac.select_actions

    def select_actions(ep_batch, t_ep, t_env=0, bs=slice(None), test_mode=False):
        active = len(bs) if isinstance(bs, (list, tuple)) else ep_batch.batch_size
        progress.step(t_ep, active, _live_agents(ep_batch, bs, t_ep), t_env, test_mode)
        return select(ep_batch, t_ep, t_env, bs=bs, test_mode=test_mode)

    mac.select_actions = select_actions
