"""Sacred's config errors get spelling hints; bad checkpoint folders are refused before the run starts."""

from __future__ import annotations

import pytest

pytest.importorskip("sacred")
from sacred.utils import ConfigAddedError

from epymarl_llm.epymarl import sacred_hooks, transfer


def test_misspelled_plugin_key_gets_did_you_mean():
    config = {"lora_rank": 8, "lora_rnak": 4, "lora_alpha": 16, "env_args": {"map_name": "3s5z", "map_nme": "x"}}
    err = ConfigAddedError(("lora_rnak", "env_args.map_nme"), config=config)
    hinted = sacred_hooks.with_spelling_hint(err)
    text = str(hinted)
    assert isinstance(hinted, ConfigAddedError)  # Sacred still prints it as a config error (no traceback)
    assert "lora_rnak=4" in text  # Sacred's own lines are kept
    assert text.splitlines()[-2:] == [
        "lora_rnak: did you mean `lora_rank`?",
        "env_args.map_nme: did you mean `env_args.map_name`?",
    ]


def test_a_key_close_to_nothing_keeps_sacreds_error():
    err = ConfigAddedError(("completely_new",), config={"lora_rank": 8, "completely_new": 1})
    assert sacred_hooks.with_spelling_hint(err) is None


def test_empty_checkpoint_folder_is_named(tmp_path):
    problem = transfer.checkpoint_problem({"checkpoint_path": str(tmp_path), "mac": "lolm_mac"})
    assert problem.startswith(f"checkpoint_path={str(tmp_path)!r} holds no numbered step folders (the folder is empty)")


def test_step_folder_given_as_checkpoint_path_names_the_parent(tmp_path):
    step = tmp_path / "token" / "500"
    step.mkdir(parents=True)
    (step / "policy_meta.json").write_text("{}")
    problem = transfer.checkpoint_problem({"checkpoint_path": str(step), "mac": "lolm_mac"})
    assert f"use checkpoint_path={str(tmp_path / 'token')!r} load_step=500" in problem


def test_mappo_checkpoint_under_lolm_mappo_says_what_one_looks_like(tmp_path):
    step = tmp_path / "token" / "100"
    step.mkdir(parents=True)
    for name in ("agent.th", "critic.th", "agent_opt.th", "critic_opt.th"):  # EPyMARL ppo_learner.save_models
        (step / name).write_bytes(b"")
    problem = transfer.checkpoint_problem({"checkpoint_path": str(step.parent), "mac": "lolm_mac"})
    assert problem.startswith(f"{step} is not a lolm_mappo checkpoint: it holds agent.th, agent_opt.th")
    assert "a checkpoint of another algorithm, e.g. mappo or qmix" in problem
    assert "A lolm_mappo checkpoint is the folder a `--config=lolm_mappo` run with save_model=True writes" in problem
    # Under EPyMARL's own mac the same folder is fine: it is that algorithm's checkpoint.
    assert transfer.checkpoint_problem({"checkpoint_path": str(step.parent), "mac": "basic_mac"}) is None


def test_an_unset_checkpoint_is_no_problem():
    assert transfer.checkpoint_problem({"checkpoint_path": ""}) is None
    assert transfer.checkpoint_problem({}) is None


@pytest.mark.parametrize("mac", ["lolm_mac", "basic_mac"])
def test_a_checkpoint_path_that_is_no_folder_is_refused_with_the_fix(tmp_path, mac):
    """run.py only logs "Checkpoint directiory ... doesn't exist", trains from scratch and exits 0."""
    missing = str(tmp_path / "no" / "such" / "folder")
    problem = transfer.checkpoint_problem({"checkpoint_path": missing, "mac": mac})
    assert problem.startswith(f"checkpoint_path={missing!r} does not exist. Set checkpoint_path to the folder")
    assert problem.endswith("or leave it empty to train from scratch.")
    a_file = tmp_path / "agent.th"
    a_file.write_bytes(b"")
    assert "is a file, not a folder" in transfer.checkpoint_problem({"checkpoint_path": str(a_file), "mac": mac})
    assert "relative to" in transfer.checkpoint_problem({"checkpoint_path": "no/such/folder", "mac": mac})


def test_a_pattern_is_taken_literally_and_its_matches_are_named(tmp_path):
    for token in ("lolm_mappo_seed1_3s5z_a", "lolm_mappo_seed1_3s5z_b"):
        (tmp_path / token / "100").mkdir(parents=True)
    pattern = str(tmp_path / "lolm_mappo_seed1_*")
    problem = transfer.checkpoint_problem({"checkpoint_path": pattern, "mac": "lolm_mac"})
    assert "it is taken literally, not as a pattern" in problem
    assert repr(str(tmp_path / "lolm_mappo_seed1_3s5z_a")) in problem and "name one folder" in problem
