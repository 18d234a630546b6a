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
    assert lines[-1] == (
        "rollout: t_env 0, 1 episodes finished, 11 env steps in 10 s; last 10 s: 1.10 env steps/s, 2.9 agent-steps/s"
    )
    now[0] += 10  # the next rollout starts: the first one's two episodes are done
    p.step(t_ep=0, active_envs=2, live_agents=6, t_env=11, test_mode=True)
    assert lines[-1].startswith("rollout (test): t_env 11, 2 episodes finished, 13 env steps in 20 s")


def test_attach_wraps_the_macs_select_actions_once():
    import logging
    from types import SimpleNamespace

    import torch

    from epymarl_llm.epymarl import progress

    calls, lines = [], []

    class Batch(dict):
        batch_size = 2

    avail = torch.ones(2, 5, 3, 4)  # (envs, steps, agents, actions): everyone alive
    avail[1, :, 0] = torch.tensor([1.0, 0, 0, 0])  # env 1, agent 0 dead (only no-op)
    batch = Batch(avail_actions=avail)
    mac = SimpleNamespace(
        config=SimpleNamespace(integration=SimpleNamespace(progress_interval_s=0.0001)),
        select_actions=lambda *a, **k: calls.append((a, k)) or "actions",
    )
    console = logging.getLogger("test_progress")
    console.info = lines.append  # EPyMARL's console logger, as the runner holds it
    runner = SimpleNamespace(
        mac=mac, batch_size=2, args=SimpleNamespace(n_agents=3), logger=SimpleNamespace(console_logger=console)
    )
    progress.attach(runner)
    progress.attach(runner)  # idempotent: wrapped once
    assert mac.select_actions(batch, t_ep=0, t_env=7, bs=[0, 1], test_mode=False) == "actions"
    assert calls == [((batch, 0, 7), {"bs": [0, 1], "test_mode": False})]
    assert lines[0].startswith("rollout started: 2 env(s) x 3 agents")
    import time

    time.sleep(0.01)
    mac.select_actions(batch, t_ep=1, t_env=7, bs=[0, 1], test_mode=False)
    assert "10 agent-steps" not in lines[-1] and lines[-1].startswith(
        "rollout: t_env 7, 0 episodes finished, 4 env steps"
    )
    assert runner._lolm_progress.agent_steps == 10  # 3 + 2 live agents per step, two steps


def test_interval_zero_turns_progress_off():
    from types import SimpleNamespace

    from epymarl_llm.epymarl import progress

    select = object()
    mac = SimpleNamespace(
        config=SimpleNamespace(integration=SimpleNamespace(progress_interval_s=0)), select_actions=select
    )
    progress.attach(SimpleNamespace(mac=mac, batch_size=1, args=SimpleNamespace(n_agents=1), logger=SimpleNamespace()))
    assert mac.select_actions is select
