"""What a run has done, for the console: a line at each test and a summary at the end.

EPyMARL prints its statistics every `log_interval` steps only, which a short run never reaches:
it ends with "Finished Training" and nothing that says what happened. The plugin's runner creates
one `RunSummary` per run and publishes it as `args.lolm_run_summary` (as EPyMARL's run.py
publishes `args.n_agents`); the learner records each update and checkpoint into it, the runner
each test and the rollout time. The runner prints `test_line()` after each test and
`final_lines()` when EPyMARL closes its envs, through EPyMARL's console logger.

Rates are live agent-steps per second: of the rollouts (runner `run()` calls only, so the update
is excluded) and of the updates (each update's live agent-steps over its wall time, as the
learner's `learner_samples_per_s`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ARGS_ATTR = "lolm_run_summary"


@dataclass
class TestResult:
    t_env: int
    episodes: int
    return_mean: float
    win_rate: float | None  # None when the env reports no `battle_won`


@dataclass
class RunSummary:
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    rollout_s: float = 0.0
    rollout_agent_steps: int = 0
    updates: int = 0
    update_s: float = 0.0
    update_agent_steps: int = 0
    beta: float | None = None
    kl_to_reference: float | None = None  # None when the last update skipped the reference pass
    test: TestResult | None = None
    checkpoint: str | None = None

    def __post_init__(self) -> None:
        self.started = self.clock()

    # --- recording --------------------------------------------------------------------------------
    def record_update(self, agent_steps: int, seconds: float, beta: float, kl_to_reference: float | None) -> None:
        self.updates += 1
        self.update_agent_steps += agent_steps
        self.update_s += seconds
        self.beta, self.kl_to_reference = beta, kl_to_reference

    def record_rollouts(self, seconds: float, agent_steps: int) -> None:
        """The run's totals so far (they replace the last ones)."""
        self.rollout_s, self.rollout_agent_steps = seconds, agent_steps

    def record_test(self, t_env: int, returns: list, stats: dict) -> None:
        """EPyMARL's test `_log` arguments: the episode returns and the summed episode stats."""
        episodes = int(stats.get("n_episodes", len(returns))) or len(returns)
        won = stats.get("battle_won")
        self.test = TestResult(
            t_env=t_env,
            episodes=episodes,
            return_mean=float(sum(float(r) for r in returns) / max(len(returns), 1)),
            win_rate=float(won) / episodes if won is not None and episodes else None,
        )

    def record_checkpoint(self, path: str) -> None:
        self.checkpoint = os.path.abspath(path)

    # --- reporting --------------------------------------------------------------------------------
    def test_text(self) -> str:
        t = self.test
        if t is None:
            return "no test yet"
        win = f"win rate {t.win_rate:.3f}, " if t.win_rate is not None else ""
        return f"test at t_env {t.t_env} ({t.episodes} episodes): {win}return {t.return_mean:.3f}"

    def kl_text(self) -> str:
        if self.beta is None:
            return "no update yet"
        kl = f"{self.kl_to_reference:.5f}" if self.kl_to_reference is not None else "not computed"
        return f"KL to reference {kl}, beta {self.beta:.5f}"

    def rates_text(self) -> str:
        rollout = _rate(self.rollout_agent_steps, self.rollout_s)
        update = _rate(self.update_agent_steps, self.update_s)
        return f"agent-steps/s: rollout {rollout}, update {update}"

    def wall_s(self) -> float:
        return self.clock() - self.started

    def test_line(self) -> str:
        """One line after a test: result, KL and beta, rates, wall time."""
        return " | ".join((self.test_text(), self.kl_text(), self.rates_text(), f"wall {_hms(self.wall_s())}"))

    def final_lines(self, t_env: int, sacred_runs: list[str], save_model: bool) -> list[str]:
        """The end-of-run summary, one item per line."""
        return [
            f"Run summary at t_env {t_env}",
            f"  {self.test_text()}",
            f"  {self.kl_text()} (last update)" if self.beta is not None else f"  {self.kl_text()}",
            f"  {self.rates_text()} ({self.rollout_agent_steps} agent-steps in {self.rollout_s:.0f} s of "
            f"rollout; {self.update_agent_steps} in {self.updates} updates, {self.update_s:.0f} s)",
            f"  wall time {_hms(self.wall_s())}",
            "  Sacred run: " + ("; ".join(sacred_runs) if sacred_runs else "none (no Sacred observer)"),
            "  checkpoint: " + (self.checkpoint or ("none saved yet" if save_model else "none (save_model is False)")),
        ]


def for_run(args: Any) -> RunSummary | None:
    """The run's summary (the runner created it), or None outside a plugin runner (tests, benchmarks)."""
    summary = getattr(args, ARGS_ATTR, None)
    return summary if isinstance(summary, RunSummary) else None


def sacred_run_locations(run: Any) -> list[str]:
    """Where Sacred's observers keep this run: the FileStorageObserver's folder, MongoDB's run id."""
    places = []
    for observer in getattr(run, "observers", None) or []:
        folder = getattr(observer, "dir", None)
        entry = getattr(observer, "run_entry", None)
        if folder:
            places.append(os.path.abspath(folder))
        elif isinstance(entry, dict) and "_id" in entry:
            database = getattr(getattr(getattr(observer, "runs", None), "database", None), "name", None)
            places.append(f"MongoDB {database or ''} runs, _id {entry['_id']}".replace("  ", " "))
    return places


def _rate(steps: int, seconds: float) -> str:
    return f"{steps / seconds:.1f}" if seconds > 0 else "n/a"


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
