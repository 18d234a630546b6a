"""Progress lines: the rollout's at the first step, then one per interval of rollout time (the update
between rollouts never counts), and the update's with the epoch and minibatch reached."""

from __future__ import annotations

from epymarl_llm.epymarl.progress import RolloutClock, RolloutProgress
from epymarl_llm.learner.update_progress import UpdateProgress


def test_progress_logs_start_then_each_interval():
    lines, now = [], [100.0]
    p = RolloutProgress(lines.append, n_envs=2, n_agents=3, interval_s=10, clock=lambda: now[0])
    p.step(t_ep=0, active_envs=2, live_agents=6, t_env=0, test_mode=False)
    assert lines == [
        "rollout started: 2 env(s) x 3 agents; a progress line every 10 s of rollout (progress_interval_s)"
    ]
    for t in range(1, 5):  # 4 more steps of both envs within 8 s: no line yet
        now[0] += 2
        p.step(t_ep=t, active_envs=2, live_agents=5, t_env=0, test_mode=False)
    assert len(lines) == 1
    now[0] += 2  # 10 s after the start; env 1 has finished its episode
    p.step(t_ep=5, active_envs=1, live_agents=3, t_env=0, test_mode=False)
    # 2 + 4 x 2 + 1 = 11 env steps and 6 + 20 + 3 = 29 agent-steps since the start line, 10 s ago
    assert lines[-1] == (
        "rollout: t_env 0, 1 episodes finished, 11 env steps in 10 s of rollout; last 10 s: "
        "1.10 env steps/s, 2.9 agent-steps/s"
    )
    now[0] += 10  # the next rollout starts: the first one's two episodes are done
    p.step(t_ep=0, active_envs=2, live_agents=6, t_env=11, test_mode=True)
    assert lines[-1].startswith("rollout (test): t_env 11, 2 episodes finished, 13 env steps in 20 s")


def test_the_update_between_two_rollouts_is_no_part_of_the_rate():
    lines, wall = [], [0.0]
    clock = RolloutClock(lambda: wall[0])
    p = RolloutProgress(lines.append, n_envs=1, n_agents=2, interval_s=10, clock=clock)
    clock.start()
    for t in range(5):  # a rollout of 5 steps, 1 s each
        p.step(t_ep=t, active_envs=1, live_agents=2, t_env=0, test_mode=False)
        wall[0] += 1
    clock.stop()
    wall[0] += 120  # the update: two minutes in which no env steps
    clock.start()
    for t in range(6):
        p.step(t_ep=t, active_envs=1, live_agents=2, t_env=5, test_mode=False)
        wall[0] += 1
    clock.stop()
    assert clock.total == 11
    # the line at 10 s of rollout: 11 steps in 10 s, not in 130 s
    assert lines[-1] == (
        "rollout: t_env 5, 1 episodes finished, 11 env steps in 10 s of rollout; last 10 s: "
        "1.10 env steps/s, 2.2 agent-steps/s"
    )


def test_interval_zero_counts_but_prints_nothing():
    lines = []
    p = RolloutProgress(lines.append, n_envs=1, n_agents=1, interval_s=0)
    for t in range(3):
        p.step(t_ep=t, active_envs=1, live_agents=1, t_env=0, test_mode=False)
    assert lines == [] and p.env_steps == 3 and p.agent_steps == 3


def test_update_progress_names_the_epoch_and_minibatch_each_interval():
    lines, now = [], [0.0]
    p = UpdateProgress(lines.append, interval_s=30, clock=lambda: now[0])
    p.start(t_env=400, epochs=2, minibatches=3, agent_steps=150)
    for epoch in (None, 0, 1):  # the pi_old/reference pass, then two epochs
        if epoch is not None:
            p.epoch(epoch)
        for m in range(3):
            now[0] += 12
            p.minibatch_done(m)
    # 9 minibatches of 12 s: a line at 36 s (pre-pass done), 72 s (epoch 1, 3/3) and 108 s
    assert lines == [
        "update at t_env 400: pi_old/reference pass, minibatch 3/3 done, 36 s in (150 agent-steps, 2 epochs)",
        "update at t_env 400: epoch 1/2, minibatch 3/3 done, 72 s in (150 agent-steps, 2 epochs)",
        "update at t_env 400: epoch 2/2, minibatch 3/3 done, 108 s in (150 agent-steps, 2 epochs)",
    ]
    p.start(t_env=500, epochs=1, minibatches=1, agent_steps=10)  # a short update prints nothing
    now[0] += 1
    p.minibatch_done(0)
    assert len(lines) == 3


def test_update_progress_off_with_interval_zero():
    lines = []
    p = UpdateProgress(lines.append, interval_s=0, clock=lambda: 1e9)
    p.start(t_env=0, epochs=1, minibatches=1, agent_steps=1)
    p.minibatch_done(0)
    assert lines == []
