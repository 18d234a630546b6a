"""What a transfer run records without EPyMARL: the source map in the Sacred config before the run
starts (where the report reads it), and one test log for a whole `evaluate=True` evaluation."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from epymarl_llm.epymarl import runners, transfer
from epymarl_llm.epymarl.progress import RolloutClock
from epymarl_llm.load_plan import MANIFEST_FILE
from epymarl_llm.run_summary import RunSummary


def _checkpoint(root, steps_maps: dict[int, str | None]):
    folder = root / "lolm_mappo_seed1_renamed"
    for step, map_name in steps_maps.items():
        (folder / str(step)).mkdir(parents=True)
        if map_name:
            (folder / str(step) / MANIFEST_FILE).write_text(json.dumps({"map_name": map_name, "n_agents": 5}))
    (folder / "notes").mkdir()  # not a step: ignored, as EPyMARL's run.py does
    return folder


def test_the_source_map_goes_into_the_config_from_the_step_run_py_loads(tmp_path):
    folder = _checkpoint(tmp_path, {100: "3s_vs_4z", 300: "2s3z"})
    newest = SimpleNamespace(config={"checkpoint_path": str(folder), "load_step": 0})
    transfer.record_source_map(newest)
    assert newest.config["transfer_source_map"] == "2s3z"
    closest = SimpleNamespace(config={"checkpoint_path": str(folder), "load_step": 120})
    transfer.record_source_map(closest)
    assert closest.config["transfer_source_map"] == "3s_vs_4z"


def test_runs_without_our_checkpoint_keep_their_config(tmp_path):
    builtin = SimpleNamespace(config={"checkpoint_path": str(_checkpoint(tmp_path, {50: None})), "load_step": 0})
    missing = SimpleNamespace(config={"checkpoint_path": str(tmp_path / "nowhere"), "load_step": 0})
    scratch = SimpleNamespace(config={"checkpoint_path": "", "load_step": 0})
    for run in (builtin, missing, scratch):
        before = dict(run.config)
        transfer.record_source_map(run)
        assert run.config == before


class _EpymarlRunner:
    """EPyMARL's runner `_log` and `close_env` as they behave (parallel_runner.py)."""

    def __init__(self, args):
        self.args, self.t_env, self.logged, self.closed, self.played = args, 700, [], False, 0
        self.logger = SimpleNamespace(console_logger=None)  # EPyMARL's Logger; no console here

    def run(self, test_mode=False):
        """Two episodes per call (batch_size_run=2); a test log every test_nepisode of them."""
        self.played += 2
        self.batch = f"batch {self.played}"
        self._log([10.0 + self.played, 12.0 + self.played], {"battle_won": 1, "n_episodes": 2}, "test_")
        return self.batch

    def _log(self, returns, stats, prefix):
        self.logged.append(
            (prefix, float(np.mean(returns)), {k: v / stats["n_episodes"] for k, v in stats.items()}, self.t_env)
        )
        returns.clear()
        stats.clear()

    def close_env(self):
        self.closed = True


class _Runner(runners.LolmRunnerMixin, _EpymarlRunner):
    """As runner_classes.LolmParallelRunner, on the stand-in for EPyMARL's runner."""


def _runner(evaluate: bool):
    runner = _Runner.__new__(_Runner)
    _EpymarlRunner.__init__(runner, SimpleNamespace(evaluate=evaluate))
    # what LolmRunnerMixin.__init__ sets before EPyMARL's runner starts (no env here)
    runner.run_summary, runner.rollout_clock, runner.rollout_progress = RunSummary(), RolloutClock(), None
    runner._held_test_returns, runner._held_test_stats = [], {}
    runner._transfer_recorded = runner._prompts_recorded = True
    runner._worker_watch = None  # no env workers here
    return runner


def test_an_evaluation_logs_once_over_all_its_episodes():
    runner = _runner(evaluate=True)
    # evaluate_sequential: run(test_mode=True) per call logs its own group of episodes, same t_env.
    for returns, won in (([10.0, 12.0], 1), ([14.0, 20.0], 2)):
        runner._log(list(returns), {"battle_won": won, "n_episodes": 2}, "test_")
    assert runner.logged == []
    runner.close_env()
    assert runner.closed
    assert runner.logged == [("test_", 14.0, {"battle_won": 0.75, "n_episodes": 1.0}, 700)]

    # evaluate_sequential calls run(test_mode=True) test_nepisode times: test_nepisode episodes are played.
    evaluation = _runner(evaluate=True)
    evaluation.args.test_nepisode = 4
    for _ in range(evaluation.args.test_nepisode):
        evaluation.run(test_mode=True)
    evaluation.close_env()
    assert evaluation.played == 4
    assert evaluation.logged == [
        ("test_", np.mean([12.0, 14.0, 14.0, 16.0]), {"battle_won": 0.5, "n_episodes": 1.0}, 700)
    ]

    training = _runner(evaluate=False)
    training._log([1.0], {"n_episodes": 1}, "test_")
    training._log([2.0], {"n_episodes": 1}, "")
    assert [entry[:2] for entry in training.logged] == [("test_", 1.0), ("", 2.0)]
