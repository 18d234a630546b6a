"""What a run prints about itself: a line after each test and a summary at the end, from the plugin's
runner (here on a stand-in for EPyMARL's runner) with what the learner recorded."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch

from epymarl_llm.epymarl import env_checks, workers
from epymarl_llm.run_config import complete_args
from epymarl_llm.run_summary import ARGS_ATTR, RunSummary, sacred_run_locations


def test_the_test_line_and_the_final_summary_say_what_happened():
    now = [1000.0]
    s = RunSummary(clock=lambda: now[0])
    assert s.test_line() == "no test yet | no update yet | agent-steps/s: rollout n/a, update n/a | wall 0:00:00"
    s.record_rollouts(seconds=40.0, agent_steps=1000)
    s.record_update(agent_steps=300, seconds=10.0, beta=0.05, kl_to_reference=0.00125)
    s.record_update(agent_steps=300, seconds=20.0, beta=0.04, kl_to_reference=0.0025)
    s.record_test(t_env=400, returns=[2.0, 4.0, 6.0, 8.0], stats={"n_episodes": 4, "battle_won": 1, "ep_length": 9})
    now[0] += 3725
    assert s.test_line() == (
        "test at t_env 400 (4 episodes): win rate 0.250, return 5.000 | KL to reference 0.00250, beta 0.04000"
        " | agent-steps/s: rollout 25.0, update 20.0 | wall 1:02:05"
    )
    s.record_checkpoint("results/models/run/400")
    lines = s.final_lines(t_env=420, sacred_runs=["/r/sacred/lolm_mappo/3s5z/7"], save_model=True)
    assert lines[0] == "Run summary at t_env 420"
    assert lines[2] == "  KL to reference 0.00250, beta 0.04000 (last update)"
    assert lines[3] == (
        "  agent-steps/s: rollout 25.0, update 20.0 (1000 agent-steps in 40 s of rollout; 600 in 2 updates, 30 s)"
    )
    assert lines[4:6] == ["  wall time 1:02:05", "  Sacred run: /r/sacred/lolm_mappo/3s5z/7"]
    assert lines[6].startswith("  checkpoint: /") and lines[6].endswith("results/models/run/400")


def test_no_kl_no_checkpoint_and_no_win_rate_are_said_as_such():
    s = RunSummary()
    s.record_update(agent_steps=1, seconds=1.0, beta=0.0, kl_to_reference=None)
    s.record_test(t_env=5, returns=[1.0], stats={"n_episodes": 1})  # an env without battle_won
    lines = s.final_lines(t_env=5, sacred_runs=[], save_model=False)
    assert lines[1] == "  test at t_env 5 (1 episodes): return 1.000"
    assert lines[2] == "  KL to reference not computed, beta 0.00000 (last update)"
    assert lines[5:] == ["  Sacred run: none (no Sacred observer)", "  checkpoint: none (save_model is False)"]


def test_sacred_locations_of_file_and_mongo_observers(tmp_path):
    file_observer = SimpleNamespace(dir=str(tmp_path / "3"))
    mongo = SimpleNamespace(run_entry={"_id": 12}, runs=SimpleNamespace(database=SimpleNamespace(name="marl")))
    run = SimpleNamespace(observers=[file_observer, mongo, SimpleNamespace()])
    assert sacred_run_locations(run) == [str(tmp_path / "3"), "MongoDB marl runs, _id 12"]
    assert sacred_run_locations(None) == []


class _EpymarlLikeRunner:
    """The parts of EPyMARL's runners the mixin builds on: setup, run, _log, close_env, t_env."""

    def __init__(self, args, logger):
        self.args, self.logger, self.batch_size, self.t_env = args, logger, 1, 0
        self.test_returns, self.test_stats = [], {}

    def get_env_info(self):
        return {"obs_shape": 1, "state_shape": 1, "n_actions": 3}

    def setup(self, scheme, groups, preprocess, mac):
        self.mac = mac

    def run(self, test_mode=False):
        avail = torch.ones(1, 2, 3)
        for t in range(4):
            self.mac.select_actions({"avail_actions": avail}, t, self.t_env, bs=[0], test_mode=test_mode)
            self.clock[0] += 1  # one second per step
        if test_mode:
            self.test_returns.append(3.0)
            self.test_stats = {"n_episodes": 1, "battle_won": 1}
            self._log(self.test_returns, self.test_stats, "test_")
        else:
            self.t_env += 4
        return "batch"

    def _log(self, returns, stats, prefix):
        returns.clear()
        stats.clear()

    def close_env(self):
        pass


class _Mac:
    """The controller's side: it reports each step to `rollout_progress`, as LolmMAC does."""

    rollout_progress = None

    def select_actions(self, batch, t_ep, t_env, bs, test_mode):
        avail = batch["avail_actions"]
        self.rollout_progress.step(t_ep, len(bs), int(avail.shape[1]), t_env, test_mode)


@pytest.fixture
def runner(monkeypatch):
    from epymarl_llm.epymarl.runners import LolmRunnerMixin

    layout = SimpleNamespace(
        check_env=lambda *a: None, n_agents=2, n_enemies=1, ally_unit_names=["Marine"] * 2, enemy_unit_names=["M"]
    )
    monkeypatch.setattr(env_checks, "check_env_config", lambda env, env_args: layout)
    monkeypatch.setattr(workers, "exit_children_with_parent", lambda: None)
    monkeypatch.setattr(workers, "WorkerWatch", lambda runner: None)

    class Runner(LolmRunnerMixin, _EpymarlLikeRunner):
        pass

    lines = []
    console = logging.getLogger("test_run_summary")
    console.info = lines.append
    args = complete_args(env="smaclite", env_args={"map_name": "3m"}, n_agents=2, n_actions=3, save_model=False)
    r = Runner(args, SimpleNamespace(console_logger=console))
    clock = [0.0]
    r.clock = clock
    r.rollout_clock.clock = lambda: clock[0]
    r.run_summary.clock = lambda: clock[0]
    r.run_summary.started = 0.0
    r.setup({}, {}, {}, _Mac())
    r._transfer_recorded = r._prompts_recorded = True  # no checkpoint, no sample prompts here
    return r, lines, clock


def test_the_runner_prints_a_line_after_each_test_and_a_summary_at_the_end(runner):
    r, lines, clock = runner
    assert getattr(r.args, ARGS_ATTR) is r.run_summary  # where the learner records its updates
    r.run(test_mode=False)  # 4 s of rollout
    clock[0] += 100  # the update
    r.run_summary.record_update(agent_steps=8, seconds=100.0, beta=0.5, kl_to_reference=0.01)
    r.run(test_mode=True)
    assert lines[-1] == (
        "test at t_env 4 (1 episodes): win rate 1.000, return 3.000 | KL to reference 0.01000, beta 0.50000"
        " | agent-steps/s: rollout 2.0, update 0.1 | wall 0:01:48"
    )
    r.close_env()
    summary = lines[-1].splitlines()
    assert summary[0] == "Run summary at t_env 4"
    # 16 agent-steps in 8 s of rollout: the 100 s of the update are not in the rollout rate
    assert summary[3].startswith("  agent-steps/s: rollout 2.0, update 0.1 (16 agent-steps in 8 s of rollout")
    assert summary[-1] == "  checkpoint: none (save_model is False)"
