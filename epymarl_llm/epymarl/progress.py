"""Progress lines during a rollout, through EPyMARL's console logger.

EPyMARL prints nothing between "Beginning training" and the end of the first batch of episodes,
which with an LLM policy on CPU is minutes. The plugin's runner builds one `RolloutProgress` per
run and hands it to the controller, whose `select_actions` (EPyMARL's runners call it once per
step, for the envs still running) reports each step to it. It logs on the first step and then
every `progress_interval_s` seconds of rollout: the episodes finished, env steps/s and
agent-steps/s (live agents only: a dead agent's step costs no forward) over the last interval.

Its time is a `RolloutClock`, which the runner runs only inside `run()`: the update between two
rollouts (minutes on CPU) is no part of any rate. The lines go to EPyMARL's `console_logger`, one
line each (no progress bar), so Sacred's captured output stays readable; nothing goes to Sacred's
metrics. The counts stay on (`progress_interval_s: 0` only silences the lines): the run summary
reads them.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RolloutClock:
    """Seconds spent inside rollouts: it runs between `start()` and `stop()` only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.total = 0.0  # seconds of the rollouts that have ended
        self._since: float | None = None

    def start(self) -> None:
        if self._since is None:
            self._since = self.clock()

    def stop(self) -> None:
        if self._since is not None:
            self.total += self.clock() - self._since
            self._since = None

    def __call__(self) -> float:
        """Rollout seconds so far, the running rollout included."""
        return self.total + (self.clock() - self._since if self._since is not None else 0.0)


class RolloutProgress:
    """Counts env steps and live agent-steps; logs one line per interval of rollout time."""

    def __init__(
        self,
        log: Callable[[str], None] | None,
        n_envs: int,
        n_agents: int,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.log = log if interval_s > 0 else None  # 0: count, but print nothing
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
            self._write(
                f"rollout started: {self.n_envs} env(s) x {self.n_agents} agents; a progress line every "
                f"{self.interval_s:g} s of rollout (progress_interval_s)"
            )
        self.env_steps += active_envs
        self.agent_steps += live_agents
        last_t, last_env, last_agent = self._last
        if now - last_t >= self.interval_s > 0:
            span = now - last_t
            finished = self.episodes_done + max(0, self.rollout_envs - active_envs)
            self._write(
                f"rollout{' (test)' if test_mode else ''}: t_env {t_env}, {finished} episodes finished, "
                f"{self.env_steps} env steps in {now - self.started:.0f} s of rollout; last {span:.0f} s: "
                f"{(self.env_steps - last_env) / span:.2f} env steps/s, "
                f"{(self.agent_steps - last_agent) / span:.1f} agent-steps/s"
            )
            self._last = (now, self.env_steps, self.agent_steps)

    def _write(self, line: str) -> None:
        if self.log is not None:
            self.log(line)
