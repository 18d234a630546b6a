"""Resuming a checkpoint on its own map: a few-shot run stays KL-free, and the random streams the
plugin controls continue from the save. Real tiny Qwen3 model, real layouts; no EPyMARL needed."""

from __future__ import annotations

import random

import numpy as np
import torch

from epymarl_llm import metric_names as M
from epymarl_llm.learner import LolmPPOLearner
from epymarl_llm.load_plan import CheckpointManifest, KlAction
from epymarl_llm.policy import LlmPolicy, PolicyConfig
from tests.transfer.layouts import Recorder, TestMac, episode_batch, layout_of, run_args

SOURCE, TARGET = "2s3z", "MMM2"


def _learner(model_dir, map_name: str, seed: int = 5, **overrides):
    torch.manual_seed(seed)
    policy = LlmPolicy(PolicyConfig(llm_model=str(model_dir), action_dim=32, device="cpu", llm_dtype="float32"))
    layout = layout_of(map_name)
    args = run_args(layout, map_name, **overrides)
    logger = Recorder()
    return LolmPPOLearner(TestMac(policy, layout, args), {}, logger, args), logger, layout


def _save(learner, root, map_name: str, step: int):
    path = root / "models" / f"lolm_mappo_seed1_{map_name}" / str(step)
    path.mkdir(parents=True)
    learner.save_models(str(path))
    return path


def test_a_resumed_few_shot_run_keeps_the_kl_term_off(tiny_model_dir, tmp_path):
    source, _, layout = _learner(tiny_model_dir, SOURCE, seed=0)
    source.train(episode_batch(layout, seed=1), t_env=100, episode_num=0)
    source_path = _save(source, tmp_path / "a", SOURCE, 200)

    few_shot, _, target_layout = _learner(tiny_model_dir, TARGET)
    few_shot.load_models(str(source_path))
    assert not few_shot.kl_schedule.enabled
    few_shot.train(episode_batch(target_layout, seed=2), t_env=260, episode_num=0)
    few_shot_path = _save(few_shot, tmp_path / "b", TARGET, 300)
    manifest = CheckpointManifest.read(few_shot_path)
    assert (manifest.map_name, manifest.transfer_source_map) == (TARGET, SOURCE)

    resumed, logger, _ = _learner(tiny_model_dir, TARGET)
    resumed.load_models(str(few_shot_path))
    assert not resumed.kl_schedule.enabled, "a resumed few-shot run must not turn the KL term back on"
    plan = resumed.mac.load_plan
    assert plan.kl is KlAction.OFF and plan.transferred_from == SOURCE
    record = logger.sacred_info["lolm_transfer"]
    assert record["kind"] == "resumed training" and "transferred from 2s3z" in record["kl"]
    resumed.train(episode_batch(target_layout, seed=3), t_env=360, episode_num=2)
    assert logger.stats[M.KL_BETA][-1][1] == 0.0 and M.KL_TO_REFERENCE not in logger.stats

    # Its own checkpoint still names the transfer's source, so a second resume keeps the rule too.
    again_path = _save(resumed, tmp_path / "c", TARGET, 400)
    assert CheckpointManifest.read(again_path).transfer_source_map == SOURCE


def test_a_resumed_source_run_still_continues_its_schedule(tiny_model_dir, tmp_path):
    source, _, layout = _learner(tiny_model_dir, SOURCE, seed=0)
    source.train(episode_batch(layout, seed=1), t_env=100, episode_num=0)
    path = _save(source, tmp_path, SOURCE, 200)
    assert CheckpointManifest.read(path).transfer_source_map is None
    resumed, _, _ = _learner(tiny_model_dir, SOURCE)
    resumed.load_models(str(path))
    assert resumed.mac.load_plan.kl is KlAction.CONTINUE
    assert resumed.kl_schedule.enabled and resumed.kl_schedule.beta_0 == source.kl_schedule.beta_0


def _draws():
    return torch.rand(3), np.random.rand(3), random.random()


def test_a_resume_continues_the_random_streams_and_the_next_update_is_bit_identical(tiny_model_dir, tmp_path):
    uninterrupted, _, layout = _learner(tiny_model_dir, SOURCE, seed=0)
    uninterrupted.train(episode_batch(layout, seed=1), t_env=100, episode_num=0)
    path = _save(uninterrupted, tmp_path, SOURCE, 200)
    after_save = _draws()  # what the run samples next (its actions, in EPyMARL's action selector)
    batch = episode_batch(layout, seed=4)
    uninterrupted.train(batch, t_env=300, episode_num=1)

    resumed, logger, _ = _learner(tiny_model_dir, SOURCE, seed=1)  # EPyMARL re-seeds a resumed run from `seed`
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    resumed.load_models(str(path))
    got = _draws()
    assert torch.equal(got[0], after_save[0]) and np.array_equal(got[1], after_save[1]) and got[2] == after_save[2]
    resumed.train(batch, t_env=300, episode_num=1)
    want = dict(uninterrupted.mac.policy.named_parameters())
    trained = [(n, p) for n, p in resumed.mac.policy.named_parameters() if p.requires_grad]
    assert trained and all(torch.equal(p, want[n]) for n, p in trained)
    assert all(
        torch.equal(p, dict(uninterrupted.critic.named_parameters())[n]) for n, p in resumed.critic.named_parameters()
    )


def test_a_transfer_run_keeps_its_own_random_streams(tiny_model_dir, tmp_path):
    source, _, layout = _learner(tiny_model_dir, SOURCE, seed=0)
    path = _save(source, tmp_path, SOURCE, 200)
    few_shot, _, _ = _learner(tiny_model_dir, TARGET)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    few_shot.load_models(str(path))
    assert torch.equal(torch.rand(3), expected)
