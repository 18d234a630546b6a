"""Rollout progress lines: at the first step, then one per interval, with the rates of that interval."""
from __future__ import annotations

from epymarl_llm.epymarl.progress import RolloutProgress


def test_progress_logs_start_then_each_interval():
    lines, now = [], [100.0]
    p = RolloutProgress(lines.append, n_envs=2, n_agents=3, interval_s=10, clock=lambda: now[0])
    p.step(t_ep=0, active_envs=2, live_agents=6, t_env=0, test_mode=False)
    assert lines == ["rollout started: 2 env(s) x 3 agents; a progress line every 10 s (progress_interval_s)"]
    for t in range(1, 5):  # 4 more steps of both envs within 8 s: no line yet
        now[0] += 2
        p.step(t_ep=t, active_envs=2, live_agents=5, t_env=0, test_mode=False)
    assert len(lines) == 1
    now[0] += 2  # 10 s after the start; env 1 has finished its episode
    p.step(t_ep=5, active_envs=1, live_agents=3, t_env=0, test_mode=False)
    # 2 + 4 x 2 + 1 = 11 env steps and 6 + 20 + 3 = 29 agent-steps since the start line, 10 s ago
    assert lines[-1] == ("rollout: t_env 0, 1 episodes finished, 11 env steps in 10 s; "
                         "last 10 s: 1.10 env steps/s, 2.9 agent-steps/s")
    now[0] += 10  # the next rollout starts: the first one's two episodes are done
    p.step(t_ep=0, active_envs=2, live_agents=6, t_env=11, test_mode=True)
    assert lines[-1].startswith("rollout (test): t_env 11, 2 episodes finished, 13 env steps in 20 s")
