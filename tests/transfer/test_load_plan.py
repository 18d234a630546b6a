"""The transfer rules as one pure function, without a model: (manifest, run settings) -> load plan."""

from __future__ import annotations

import pytest

from epymarl_llm.load_plan import (
    MANIFEST_FILE,
    CheckpointManifest,
    KlAction,
    LoadKind,
    LoadPlanError,
    LoadSettings,
    load_kind,
    plan_load,
)
from epymarl_llm_tools.report.runs import RunMode, run_from_config

STEP_DIR = "/results/models/lolm_mappo_seed1_2s3z/200"


def _plan(source="2s3z", target="2s3z", **settings):
    manifest = CheckpointManifest(map_name=source, n_agents=5) if source is not False else None
    return plan_load(manifest, STEP_DIR, LoadSettings(target_map=target, **settings))


@pytest.mark.parametrize(
    "source, target, evaluate, kind",
    [
        ("2s3z", "2s3z", False, LoadKind.RESUMED),
        ("2s3z", "2s3z", True, LoadKind.EVALUATION),
        ("2s3z", "MMM2", False, LoadKind.FEW_SHOT),
        ("2s3z", "MMM2", True, LoadKind.ZERO_SHOT),
    ],
)
def test_the_kind_follows_the_maps_and_evaluate(source, target, evaluate, kind):
    plan = _plan(source, target, evaluate=evaluate)
    assert plan.kind is kind and plan.step == 200 and plan.checkpoint == STEP_DIR
    assert plan.is_transfer == (source != target)


def test_the_kl_term_is_off_in_few_shot_unless_kl_in_transfer_and_restarts_from_the_step():
    assert _plan(target="MMM2").kl is KlAction.OFF
    assert "kl_in_transfer=False" in _plan(target="MMM2").kl_text()
    restart = _plan(target="MMM2", kl_in_transfer=True)
    assert restart.kl is KlAction.RESTART and restart.kl_t_offset == 200
    assert restart.kl_text() == (
        "on (kl_in_transfer=True, kl_mode=anneal): restarted on MMM2, beta_0 from eq. 10 "
        "at the first update, annealed from step 200"
    )
    assert _plan(target="MMM2", kl_mode="none", kl_in_transfer=True).kl_text() == "off (kl_mode=none)"
    same = _plan()
    assert same.kl is KlAction.CONTINUE and same.kl_t_offset == 0
    assert same.kl_text(beta_0=0.25) == "continued (kl_mode=anneal, beta_0=0.25)"
    assert _plan(target="MMM2", evaluate=True).kl_text() == "not used (evaluate=True)"


def test_a_checkpoint_without_a_manifest_is_the_same_map_and_says_so():
    plan = _plan(source=False, target="MMM2")
    assert plan.kind is LoadKind.RESUMED and plan.source_map is None and plan.kl is KlAction.CONTINUE
    assert plan.notes == (f"the checkpoint has no {MANIFEST_FILE} naming its map: treated as the same map (resumed)",)
    record = plan.record(["critic_opt.th: lr [0.002] replaced"], beta_0=None)
    assert record["notes"][0].startswith("critic_opt.th") and record["kind"] == "resumed training"
    assert plan.console_line(record).startswith("LoLM checkpoint of an unknown map at step 200 loaded on MMM2")


def test_training_needs_t_max_above_the_checkpoint_step_evaluation_does_not():
    with pytest.raises(LoadPlanError, match=r"t_max=150 is not above the checkpoint's step 200.*set t_max=200 \+"):
        _plan(t_max=150)
    assert _plan(t_max=150, evaluate=True).kind is LoadKind.EVALUATION
    assert _plan(t_max=201).step == 200


def test_the_manifest_round_trips_and_tolerates_other_keys(tmp_path):
    manifest = CheckpointManifest(
        map_name="3s5z", env="smaclite", n_agents=8, n_actions=14, llm_model="m", transfer_source_map="2s3z"
    )
    manifest.write(tmp_path)
    assert CheckpointManifest.read(tmp_path) == manifest
    (tmp_path / MANIFEST_FILE).write_text('{"map_name": "MMM2", "added_later": 1}')
    assert CheckpointManifest.read(tmp_path) == CheckpointManifest(map_name="MMM2")
    (tmp_path / MANIFEST_FILE).write_text("not json")
    assert CheckpointManifest.read(tmp_path) is None
    assert CheckpointManifest.read(tmp_path / "missing") is None


def test_the_report_names_run_kinds_with_the_same_rule():
    for same_map in (True, False):
        for evaluate in (True, False):
            config = {
                "name": "lolm_mappo",
                "env_args": {"map_name": "MMM2"},
                "seed": 1,
                "evaluate": evaluate,
                "checkpoint_path": "/x",
                "transfer_source_map": "MMM2" if same_map else "2s3z",
            }
            run = run_from_config(config, origin="o", run_id="1", status="COMPLETED", metrics={})
            assert run.mode is RunMode(load_kind(same_map, evaluate).value)


def test_a_resumed_transfer_run_keeps_the_transfer_kl_rule():
    manifest = CheckpointManifest(map_name="MMM2", transfer_source_map="2s3z")

    def plan(**settings):
        return plan_load(manifest, STEP_DIR, LoadSettings(target_map="MMM2", **settings))

    off = plan()
    assert off.kind is LoadKind.RESUMED and off.kl is KlAction.OFF and off.transferred_from == "2s3z"
    assert "transferred from 2s3z and kl_in_transfer=False" in off.kl_text()
    assert any("trained by transfer from 2s3z" in n for n in off.notes)
    kept = plan(kl_in_transfer=True)  # the transfer kept the KL term: its saved schedule continues
    assert kept.kl is KlAction.CONTINUE and kept.kl_t_offset == 0
    assert plan(kl_mode="none").kl is KlAction.ALREADY_OFF
    # A resume of a run that loaded a checkpoint of its own map is no transfer.
    same = plan_load(CheckpointManifest(map_name="MMM2", transfer_source_map="MMM2"), STEP_DIR, LoadSettings("MMM2"))
    assert same.kl is KlAction.CONTINUE and same.transferred_from is None
