"""A checkpoint of a 5-agent map loads into a policy, critic and learner built for a 10-agent map
with other unit types (2s3z -> MMM2: Stalkers/Zealots with shields -> Marines, Marauders, a Medivac),
and transfer runs follow the documented rules (docs/EXPERIMENTS.md): KL off unless kl_in_transfer,
return statistics repeated for the new agent count, this run's lr, a clear error for a t_max that
would not train. Real tiny Qwen3 model, real layouts and prompts; no EPyMARL needed."""

from __future__ import annotations

import math

import pytest
import torch

from epymarl_llm import metric_names as M
from epymarl_llm.critic import EpymarlTransformerCritic
from epymarl_llm.learner import LolmPPOLearner
from epymarl_llm.policy import LlmPolicy, PolicyConfig
from epymarl_llm.prompts import PromptEncoder, random_observations
from tests.transfer.layouts import Recorder, TestMac, episode_batch, layout_of, run_args

SOURCE, TARGET = "2s3z", "MMM2"


def _policy(model_dir, seed: int) -> LlmPolicy:
    torch.manual_seed(seed)
    return LlmPolicy(PolicyConfig(llm_model=str(model_dir), action_dim=32, device="cpu", llm_dtype="float32"))


def _perturb(module: torch.nn.Module, seed: int) -> None:
    """Training-like values in every trainable tensor (LoRA's B and the entity keys start at zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=g) * 0.3)


def test_policy_and_critic_of_5_agents_load_for_10_agents_and_give_finite_outputs(tiny_model_dir, tmp_path):
    source, target = layout_of(SOURCE), layout_of(TARGET)
    assert (source.n_agents, target.n_agents, target.n_targets) == (5, 10, 12)
    trained = _policy(tiny_model_dir, seed=0)
    _perturb(trained, seed=1)
    trained.save_trainable(tmp_path / "policy")
    critic_args = run_args(source, SOURCE)
    critic_a = EpymarlTransformerCritic(None, critic_args, layout=source)
    _perturb(critic_a, seed=2)
    torch.save(critic_a.state_dict(), tmp_path / "critic.th")

    fresh = _policy(tiny_model_dir, seed=3)
    loaded = _policy(tiny_model_dir, seed=3)
    loaded.load_trainable(tmp_path / "policy")
    trainable = {k: v for k, v in trained.state_dict().items() if "lora_" in k or k.startswith("head.")}
    assert trainable and all(torch.equal(loaded.state_dict()[k], v) for k, v in trainable.items())

    obs, avail, agent_ids = random_observations(target, 12, seed=4)
    batch = PromptEncoder(target, loaded.tokenizer).encode(obs, avail, agent_ids)
    mask = torch.as_tensor(avail) != 0
    with torch.no_grad():
        logits, before = loaded(batch, mask), fresh(batch, mask)
    assert logits.shape == (12, 6 + 12)
    assert torch.isfinite(logits[mask]).all()
    assert (logits[~mask] < -1e8).all(), "unavailable actions stay masked on the new map"
    assert not torch.allclose(logits[mask], before[mask]), "the checkpoint changed the policy"
    probs = torch.softmax(logits, -1)
    assert torch.allclose(probs.sum(-1), torch.ones(12)) and (probs[~mask] == 0).all()

    critic_b = EpymarlTransformerCritic(None, run_args(target, TARGET), layout=target)
    critic_b.load_state_dict(torch.load(tmp_path / "critic.th"))  # strict: no per-map weight
    values = critic_b(episode_batch(target, episodes=2, steps=3))
    assert values.shape == (2, 4, 10, 1) and torch.isfinite(values).all()


@pytest.fixture
def source_checkpoint(tiny_model_dir, tmp_path):
    """A learner trained one update on 2s3z (KL annealing on, return standardisation on), saved at step 200."""
    layout = layout_of(SOURCE)
    args = run_args(layout, SOURCE, lr=0.002)
    mac = TestMac(_policy(tiny_model_dir, seed=0), layout, args)
    learner = LolmPPOLearner(mac, {}, Recorder(), args)
    learner.train(episode_batch(layout, seed=1), t_env=100, episode_num=0)
    assert learner.kl_schedule.beta_0 is not None and learner.kl_schedule.beta_0 > 0
    path = tmp_path / "models" / f"lolm_mappo_seed1_{SOURCE}" / "200"
    path.mkdir(parents=True)
    learner.save_models(str(path))
    return path, learner


def _target_learner(tiny_model_dir, map_name=TARGET, **overrides):
    layout = layout_of(map_name)
    args = run_args(layout, map_name, **overrides)
    mac = TestMac(_policy(tiny_model_dir, seed=5), layout, args)
    logger = Recorder()
    return LolmPPOLearner(mac, {}, logger, args), mac, logger, layout


def test_few_shot_on_another_map_loads_everything_and_trains_without_kl(source_checkpoint, tiny_model_dir):
    path, trained = source_checkpoint
    learner, mac, logger, layout = _target_learner(tiny_model_dir, t_max=200 + 300)
    learner.load_models(str(path))

    assert mac.checkpoint_manifest.map_name == SOURCE and mac.checkpoint_manifest.n_agents == 5
    for name, tensor in trained.critic.state_dict().items():
        assert torch.equal(learner.critic.state_dict()[name], tensor), f"critic {name} carried over"
    assert torch.equal(
        learner.target_critic.state_dict()["net.value.weight"], trained.target_critic.state_dict()["net.value.weight"]
    )
    assert all(g["lr"] == 0.001 for g in learner.agent_optimiser.param_groups), "this run's lr, not the checkpoint's"
    assert len(learner.agent_optimiser.state) == len(trained.agent_optimiser.state) > 0, "Adam moments carried over"
    assert learner.ret_ms.mean.shape == (10,)
    assert torch.allclose(learner.ret_ms.mean, trained.ret_ms.mean.mean().expand(10))
    assert torch.equal(learner.rew_ms.mean, trained.rew_ms.mean)
    assert not learner.kl_schedule.enabled and learner.kl_schedule.beta(10**6) == 0.0

    record = logger.sacred_info["lolm_transfer"]
    assert record["source_map"] == SOURCE and record["target_map"] == TARGET and record["checkpoint_step"] == 200
    assert record["kind"] == "few-shot training" and "kl_in_transfer=False" in record["kl"]
    assert any("repeated for 10" in n for n in record["notes"]) and any("lr" in n for n in record["notes"])

    learner.train(episode_batch(layout, seed=6), t_env=260, episode_num=2)
    assert M.KL_TO_REFERENCE not in logger.stats and logger.stats[M.KL_BETA][-1][1] == 0.0
    for key in (M.POLICY_LOSS, M.VALUE_LOSS, M.ENTROPY):
        assert math.isfinite(logger.stats[key][-1][1]), key


def test_zero_shot_load_and_kl_in_transfer_restart_the_schedule_on_the_target(source_checkpoint, tiny_model_dir):
    path, _ = source_checkpoint
    zero, _, logger, _ = _target_learner(tiny_model_dir, evaluate=True, t_max=10)  # t_max is irrelevant in evaluation
    zero.load_models(str(path))
    assert logger.sacred_info["lolm_transfer"]["kind"] == "zero-shot evaluation"

    keep, _, logger, layout = _target_learner(tiny_model_dir, "3s5z", kl_in_transfer=True, kl_anneal_steps=400)
    keep.load_models(str(path))
    assert keep.kl_schedule.enabled and keep.kl_schedule.needs_start, "beta_0 re-estimated on the target (eq. 10)"
    keep.train(episode_batch(layout, seed=7), t_env=200, episode_num=0)
    beta_0 = keep.kl_schedule.beta_0
    assert logger.stats[M.KL_BETA][-1][1] == pytest.approx(beta_0), "annealing starts at the checkpoint's step"
    assert keep.kl_schedule.beta(400) == pytest.approx(beta_0 / 2) and M.KL_TO_REFERENCE in logger.stats


def test_same_map_resume_continues_the_schedule(source_checkpoint, tiny_model_dir):
    path, trained = source_checkpoint
    resumed, _, logger, _ = _target_learner(tiny_model_dir, SOURCE)
    resumed.load_models(str(path))
    assert resumed.kl_schedule.beta_0 == trained.kl_schedule.beta_0
    assert logger.sacred_info["lolm_transfer"]["kind"] == "resumed training"


def test_a_t_max_below_the_checkpoint_step_is_a_clear_error(source_checkpoint, tiny_model_dir):
    path, _ = source_checkpoint
    learner, *_ = _target_learner(tiny_model_dir, t_max=150)
    with pytest.raises(ValueError, match=r"set t_max=200 \+ the number of steps"):
        learner.load_models(str(path))
