"""A shortened `epymarl-llm grid learning-check --executor local`: every kind of run through
EPyMARL's real main.py, as submitit's local executor runs them.

One seed, a few hundred steps, the tiny model: it cannot show learning to win (docs/RESULTS.md
does), but a break anywhere on that path fails here: training must move the policy away from
the reference (KL > 0), the checkpoint must load on the bigger shipped map for zero-shot and
few-shot runs, and the report must produce the transfer table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epymarl_llm import metric_names as M
from epymarl_llm_tools.commands import learning_runs as lr

from .conftest import REPO_ROOT, epymarl_source


def _budget():
    return lr.Budget(t_max=100, test_interval=50, test_nepisode=2, time_limit=20, envs=2, few_shot_t=40)


def test_plan_loads_checkpoints_only_after_their_run_and_keeps_the_untrained_baseline_apart():
    specs = lr.plan_runs(
        source_map="2s_vs_1sc",
        target_map="3s_vs_1sc",
        seeds=[1, 2],
        budget=_budget(),
        llm_model="/m",
        lolm_updates={},
        with_mappo=True,
        with_no_kl=True,
        transfer=True,
    )
    order = [s.label for s in specs]
    for spec in specs:
        if spec.after:
            assert order.index(spec.after) < order.index(spec.label)
    untrained = [s for s in specs if s.label.startswith("untrained/")]
    assert len(untrained) == 2 and all(s.updates["name"] == lr.UNTRAINED_NAME and s.after is None for s in untrained)
    # EPyMARL's evaluate=True without a checkpoint would train for t_max: one batch at a learning rate
    # that moves no weight, then EPyMARL's first test, is the untrained policy.
    assert all(s.updates["t_max"] == 1 and s.updates["lr"] <= 1e-12 and "evaluate" not in s.updates for s in untrained)
    mappo = next(s for s in specs if s.config == "mappo")
    lolm = next(s for s in specs if s.config == "lolm_mappo")
    shared = ("t_max", "test_interval", "test_nepisode", "env_args.time_limit", "batch_size_run")
    assert all(mappo.updates[k] == lolm.updates[k] for k in shared), "same budget for both algorithms"
    scratch = next(s for s in specs if s.label.startswith("scratch/"))
    assert scratch.updates["t_max"] == 40 and "checkpoint_path" not in scratch.updates
    # The runner's phase 2 (every run on the target map) starts after every training run has ended.
    assert {s.phase for s in specs if s.map_name == "3s_vs_1sc"} == {2}
    assert {s.phase for s in specs if s.map_name == "2s_vs_1sc"} == {1}


def test_runner_jobs_set_the_few_shot_budget_past_the_checkpoint_and_log_where_the_parent_does(tmp_path):
    specs = lr.plan_runs(
        source_map="2s_vs_1sc",
        target_map="3s_vs_1sc",
        seeds=[1],
        budget=_budget(),
        llm_model="/m",
        lolm_updates={},
        with_mappo=False,
        with_no_kl=False,
        transfer=True,
    )
    args = argparse.Namespace(python="python3", threads=1, few_shot_t=40, run_timeout=60.0)
    jobs = {j.label: j for j in lr.grid_jobs(specs, None, {}, tmp_path, args)}
    few, zero = jobs["few-shot/3s_vs_1sc/s1"], jobs["zero-shot/3s_vs_1sc/s1"]
    assert few.few_shot_steps == 40 and not any(a.startswith("t_max=") for a in few.with_args)
    assert zero.few_shot_steps is None and "evaluate=True" in zero.with_args
    assert few.parent_log == zero.parent_log == jobs["lolm_mappo/2s_vs_1sc/s1"].log


def test_summary_jumpstart_is_zero_shot_minus_untrained_per_seed(tmp_path):
    results = []
    for label, values in (
        ("zero-shot/m/s1", [0.5]),
        ("untrained/m/s1", [0.25]),
        ("zero-shot/m/s2", [0.0]),
        ("untrained/m/s2", [0.25]),
    ):
        d = tmp_path / label.replace("/", "_")
        d.mkdir()
        (d / "metrics.json").write_text(json.dumps({M.TEST_WIN_RATE: {"steps": [0], "values": values}}))
        spec = lr.RunSpec(label, "lolm_mappo", "m", 1, {})
        results.append(lr.RunResult(spec, 0, 1.0, d, d / "log"))
    jump = lr.summarize(results, M.TEST_WIN_RATE)["zero_shot_minus_untrained"]
    assert jump["per_seed"] == [0.25, -0.25] and jump["mean"] == 0.0 and jump["std"] == 0.25


def test_resume_reuses_finished_runs_of_the_plan_and_keeps_the_others_in_the_summary(tmp_path):
    def sacred(name):
        d = tmp_path / "sacred" / name
        d.mkdir(parents=True)
        (d / "metrics.json").write_text("{}")
        return str(d)

    specs = [
        lr.RunSpec("lolm_mappo/m/s1", "lolm_mappo", "m", 1, {}),
        lr.RunSpec("zero-shot/t2/s1", "lolm_mappo", "t2", 1, {}),
    ]
    rows = [
        {"label": "lolm_mappo/m/s1", "rc": 0, "sacred_dir": sacred("1"), "wall_s": 5.0},
        {"label": "zero-shot/t2/s1", "rc": 1, "sacred_dir": sacred("2")},  # failed: runs again
        {"label": "zero-shot/t1/s1", "rc": 0, "sacred_dir": sacred("3")},  # another target: kept
    ]
    (tmp_path / "summary.json").write_text(json.dumps({"runs": rows}))
    done, others = lr.finished_runs(tmp_path, specs)
    assert list(done) == ["lolm_mappo/m/s1"] and done["lolm_mappo/m/s1"].spec is specs[0]
    assert done["lolm_mappo/m/s1"].log == tmp_path / "logs" / "lolm_mappo_m_s1.log"
    assert [r["label"] for r in others] == ["zero-shot/t1/s1"]
    assert lr.finished_runs(tmp_path / "nothing", specs) == ({}, [])


# (t_max, test_interval, test_nepisode, few_shot_t, time_limit, kl_anneal_steps): two budgets of one check.
CI_BUDGET = ("60", "30", "1", "20", "20", "120")  # a few minutes on 2 cores: at least two updates per run
LONG_BUDGET = ("240", "120", "2", "120", "30", "480")


@pytest.mark.slow
def test_learning_check_shortened_runs_every_kind_of_run_and_reports(tmp_path):
    _check_runs_train_transfer_and_report(tmp_path, CI_BUDGET)


@pytest.mark.slow
@pytest.mark.long  # a research-sized run: `make long` (excluded from the default run and CI: see CONTRIBUTING)
def test_learning_check_runs_train_transfer_and_report(tmp_path):
    _check_runs_train_transfer_and_report(tmp_path, LONG_BUDGET)


def _check_runs_train_transfer_and_report(tmp_path, budget):
    pytest.importorskip("smaclite", reason="SMAClite is not installed: pip install it from uoe-agents/smaclite")
    source = epymarl_source()
    out = tmp_path / "check"
    t_max, test_interval, test_nepisode, few_shot_t, time_limit, kl_anneal = budget
    argv = [
        sys.executable,
        "-m",
        "epymarl_llm_tools",
        "grid",
        "learning-check",
        "--executor",
        "local",
        "--out",
        str(out),
        "--epymarl",
        str(source),
        "--tiny-shape",
        "tiny",
        "--seeds",
        "1",
        "--t-max",
        t_max,
        "--test-interval",
        test_interval,
        "--test-nepisode",
        test_nepisode,
        "--few-shot-t",
        few_shot_t,
        "--envs",
        "2",
        "--time-limit",
        time_limit,
        "--epochs",
        "1",
        "--kl-anneal-steps",
        kl_anneal,
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    algs = source / "src" / "config" / "algs"
    before = sorted(p.name for p in algs.iterdir())
    proc = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert sorted(p.name for p in algs.iterdir()) == before, "the user's checkout is left alone"

    summary = json.loads((out / "summary.json").read_text())
    runs = {r["label"]: r for r in summary["runs"]}
    expected = {
        "lolm_mappo/2s_vs_1z/s1",
        "mappo/2s_vs_1z/s1",
        "lolm_mappo_no_kl/2s_vs_1z/s1",
        "zero-shot/3s_vs_2z/s1",
        "untrained/3s_vs_2z/s1",
        "few-shot/3s_vs_2z/s1",
        "scratch/3s_vs_2z/s1",
    }
    assert expected <= set(runs), sorted(runs)
    for label in expected:
        assert runs[label]["rc"] == 0 and runs[label]["evaluations"] >= 1, runs[label]
    assert "zero_shot_minus_untrained" in summary

    trained = Path(runs["lolm_mappo/2s_vs_1z/s1"]["sacred_dir"])
    metrics = json.loads((trained / "metrics.json").read_text())
    assert max(metrics[M.KL_TO_REFERENCE]["values"]) > 0, "training never moved the policy off the reference"
    few = json.loads((Path(runs["few-shot/3s_vs_2z/s1"]["sacred_dir"]) / "config.json").read_text())
    assert few["checkpoint_path"] and few["env_args"]["map_file"].endswith("3s_vs_2z.json")

    table = out / "report" / "transfer.md"
    assert table.is_file(), sorted(p.name for p in (out / "report").iterdir())
    assert "lolm_mappo" in table.read_text()
