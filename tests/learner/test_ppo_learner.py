"""The learner with a small policy of the LlmPolicy contract (no backbone download, no EPyMARL)."""

import copy
import os
import sys
from types import SimpleNamespace

import pytest
import torch

from epymarl_llm import metric_names as M
from epymarl_llm.learner import LolmPPOLearner, losses
from epymarl_llm.learner.agent_steps import team_masks

# The memory probe of a run's first update: the batch's longest prompt, alone and twice (`update_memory_mb`).
PROBE_ROWS = 3


def live_count(batch, n_agents=3):
    return int(team_masks(batch, n_agents).live.sum())


def kl_to_reference(mac, batch):
    masks = team_masks(batch, 3)
    b, t, n = masks.live.nonzero().unbind(-1)
    obs, avail = batch["obs"][:, :-1][b, t, n], batch["avail_actions"][:, :-1][b, t, n]
    tokens = mac.prompt_encoder.encode(obs, avail, n)
    with torch.no_grad():
        logp = losses.masked_log_softmax(mac.policy(tokens, avail), avail)
        ref = losses.masked_log_softmax(mac.policy.reference_logits(tokens, avail), avail)
    return float(losses.exact_kl(logp, ref, avail).mean())


def test_train_logs_every_metric_and_only_live_steps_reach_the_backbone(fake):
    mac, batch, logger = fake.mac(), fake.batch(), fake.logger()
    learner = LolmPPOLearner(mac, {}, logger, fake.args(epochs=3))
    learner.train(batch, t_env=10, episode_num=3)
    live = live_count(batch)
    # 13 filled transitions x 3 agents, minus agent 2 of episode 0 dead for 4 steps
    assert live == (6 + 4 + 3) * 3 - 4
    # one no-grad pass for the old policy, one for the reference, one per epoch, and the memory probe
    assert mac.policy.rows_run == live * (2 + 3) + PROBE_ROWS
    learner.train(batch, t_env=20, episode_num=6)  # no longer prompt: no probe, nothing else
    assert mac.policy.rows_run == 2 * live * (2 + 3) + PROBE_ROWS
    assert set(logger.stats) == set(M.LEARNER_METRICS)
    assert logger.stats[M.KL_BETA][0][1] > 0
    assert all(torch.isfinite(torch.tensor(v[0][1])) for k, v in logger.stats.items() if k != M.EXPLAINED_VARIANCE)


def test_kl_is_zero_until_lora_moves_then_positive(fake):
    mac, batch = fake.mac(), fake.batch()
    assert kl_to_reference(mac, batch) == 0.0
    learner = LolmPPOLearner(mac, {}, fake.logger(), fake.args())
    learner.train(batch, t_env=0, episode_num=1)
    assert kl_to_reference(mac, batch) > 0.0


def test_gradients_reach_lora_head_and_critic_only(fake):
    mac, batch = fake.mac(), fake.batch()
    learner = LolmPPOLearner(mac, {}, fake.logger(), fake.args())
    before = {k: v.clone() for k, v in mac.policy.state_dict().items()}
    critic_before = copy.deepcopy(learner.critic.state_dict())
    learner.train(batch, t_env=0, episode_num=1)
    after = mac.policy.state_dict()
    for name in before:
        changed = not torch.equal(before[name], after[name])
        assert changed == name.startswith(("lora", "head")), name
    assert any(not torch.equal(critic_before[k], v) for k, v in learner.critic.state_dict().items())
    assert {id(p) for p in learner.agent_params} == {id(p) for p in mac.policy.parameters() if p.requires_grad}


def test_minibatching_gives_the_same_update_as_one_big_forward(fake):
    results = []
    for chunk in (3, 1000):
        torch.manual_seed(0)
        mac = fake.mac()
        learner = LolmPPOLearner(mac, {}, fake.logger(), fake.args(max_prompts_per_forward=chunk))
        learner.train(fake.batch(), t_env=5, episode_num=1)
        results.append(
            (mac.policy.lora_B.detach().clone(), mac.policy.head.weight.detach().clone(), learner.kl_schedule.beta_0)
        )
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)
    assert results[0][2] == pytest.approx(results[1][2])


def test_beta_start_follows_eq_10(fake):
    mac, batch, logger = fake.mac(), fake.batch(), fake.logger()
    args = fake.args(kl_lambda=0.5, kl_eps=0.01, kl_beta_max=1e9, kl_anneal_steps=100, epochs=1, entropy_coef=0.05)
    learner = LolmPPOLearner(mac, {}, logger, args)
    seen = []
    start = learner.kl_schedule.start
    learner.kl_schedule.start = lambda mappo, kl: seen.append((mappo, kl)) or start(mappo, kl)
    learner.train(batch, t_env=25, episode_num=1)
    ((mappo, kl),) = seen
    assert kl == 0.0  # LoRA starts at zero: the fine-tuned policy is the reference
    # L_MAPPO at the first update is the first epoch's policy loss (ratio 1)
    assert mappo == pytest.approx(logger.stats[M.POLICY_LOSS][0][1], rel=1e-5)
    assert learner.kl_schedule.beta_0 == pytest.approx(0.5 * abs(mappo) / 0.01)
    assert logger.stats[M.KL_BETA][0][1] == pytest.approx(learner.kl_schedule.beta_0 * 0.75)
    assert logger.stats[M.CLIP_FRACTION][0][1] == 0.0 and logger.stats[M.APPROX_KL_OLD][0][1] == 0.0


def test_kl_mode_none_skips_the_reference_pass(fake):
    mac, batch, logger = fake.mac(), fake.batch(), fake.logger()
    learner = LolmPPOLearner(mac, {}, logger, fake.args(kl_mode="none", epochs=2))
    learner.train(batch, t_env=0, episode_num=1)
    assert mac.policy.rows_run == live_count(batch) * (1 + 2) + PROBE_ROWS
    assert M.KL_TO_REFERENCE not in logger.stats and logger.stats[M.KL_BETA][0][1] == 0.0


def test_after_annealing_the_reference_pass_is_skipped(fake):
    mac, batch = fake.mac(), fake.batch()
    learner = LolmPPOLearner(mac, {}, fake.logger(), fake.args(kl_beta_init=0.2, kl_anneal_steps=10, epochs=1))
    learner.train(batch, t_env=50, episode_num=1)
    assert mac.policy.rows_run == live_count(batch) * 2 + PROBE_ROWS


def test_save_and_load_resume_the_schedule_and_optimisers(fake, tmp_path):
    mac, batch = fake.mac(), fake.batch()
    learner = LolmPPOLearner(mac, {}, fake.logger(), fake.args(standardise_returns=True))
    learner.train(batch, t_env=0, episode_num=1)
    learner.train(fake.batch(seed=1), t_env=20, episode_num=2)
    learner.save_models(str(tmp_path))
    mac2 = fake.mac()
    resumed = LolmPPOLearner(mac2, {}, fake.logger(), fake.args(standardise_returns=True))
    resumed.load_models(str(tmp_path))
    assert resumed.kl_schedule.beta_0 == learner.kl_schedule.beta_0
    assert not resumed.kl_schedule.needs_start
    assert resumed.critic_training_steps == 2
    torch.testing.assert_close(resumed.ret_ms.mean, learner.ret_ms.mean)
    assert torch.equal(mac2.policy.lora_B, mac.policy.lora_B)
    for a, b in zip(resumed.target_critic.parameters(), learner.target_critic.parameters(), strict=True):
        assert torch.equal(a, b)
    state = resumed.agent_optimiser.state_dict()["state"]
    assert state and all(int(s["step"]) == 4 for s in state.values())


def test_critic_step_matches_epymarl_ppo_learner(fake):
    path = os.environ.get("EPYMARL_PATH")
    if not path:
        pytest.skip("EPYMARL_PATH is not set: cannot compare with EPyMARL's PPOLearner")
    sys.path.insert(0, os.path.join(path, "src"))
    ppo = pytest.importorskip("learners.ppo_learner")
    stream = pytest.importorskip("components.standarize_stream")
    args = fake.args(standardise_returns=True, q_nstep=3, gamma=0.9)
    learner = LolmPPOLearner(fake.mac(), {}, fake.logger(), args)
    batch = fake.batch()
    theirs_critic = copy.deepcopy(learner.critic)
    holder = SimpleNamespace(
        args=SimpleNamespace(**vars(learner.config)),
        critic_params=list(theirs_critic.parameters()),
        ret_ms=stream.RunningMeanStd(shape=(3,)),
        critic_optimiser=torch.optim.Adam(theirs_critic.parameters(), lr=args.lr),
    )
    holder.nstep_returns = lambda *a: ppo.PPOLearner.nstep_returns(holder, *a)
    masks = team_masks(batch, 3)
    rewards = learner._team_rewards(batch)
    for _ in range(2):  # two epochs: the return statistics evolve as EPyMARL's do
        expected, log = ppo.PPOLearner.train_critic_sequential(
            holder, theirs_critic, learner.target_critic, batch, rewards, masks.mask
        )
        ours, stats = learner._critic_step(batch, rewards, masks.mask, learner._target_values(batch))
        torch.testing.assert_close(ours, expected.detach(), rtol=1e-5, atol=1e-6)
        assert stats["loss"] == pytest.approx(log["critic_loss"][0], rel=1e-5)


def test_critic_type_picks_the_critic_as_epymarls_learner_does(fake):
    from epymarl_llm.critic import CriticConfig, EpymarlTransformerCritic

    assert isinstance(LolmPPOLearner(fake.mac(), {}, fake.logger(), fake.args()).critic, EpymarlTransformerCritic)
    with pytest.raises(
        ValueError, match="critic_type 'coma_critic' is not a critic.*'lolm_transformer_critic'.*'cv_critic'"
    ):
        CriticConfig(critic_type="coma_critic")
    with pytest.raises(ValueError, match="critic_type 'transformer_critic' is not a critic"):
        LolmPPOLearner(fake.mac(), {}, fake.logger(), fake.args(critic_type="transformer_critic"))


def test_critic_type_cv_critic_trains_epymarls_own_critic(fake):
    path = os.environ.get("EPYMARL_PATH")
    if not path:
        pytest.skip("EPYMARL_PATH is not set: EPyMARL's cv_critic comes from its checkout")
    sys.path.insert(0, os.path.join(path, "src"))
    from modules.critics.centralV import CentralVCritic

    from tests.learner.conftest import N_ACTIONS, OBS

    batch = fake.batch()
    scheme = {
        "state": {"vshape": batch["state"].shape[-1]},
        "obs": {"vshape": OBS},
        "actions_onehot": {"vshape": (N_ACTIONS,)},
    }
    args = fake.args(critic_type="cv_critic", hidden_dim=8, obs_individual_obs=False, obs_last_action=False)
    learner = LolmPPOLearner(fake.mac(), scheme, fake.logger(), args)
    assert type(learner.critic) is CentralVCritic
    before = copy.deepcopy(learner.critic.state_dict())
    learner.train(batch, t_env=0, episode_num=1)
    assert any(not torch.equal(before[k], v) for k, v in learner.critic.state_dict().items())


def _first_step_change(fake, **args) -> tuple[float, list[float]]:
    """(largest parameter change of the policy over one update, the lr of each policy step)."""
    mac, batch = fake.mac(), fake.batch()
    learner = LolmPPOLearner(mac, {}, fake.logger(), fake.args(epochs=1, **args))
    before = [p.detach().clone() for p in learner.agent_params]
    lrs = []
    for _ in range(3):
        lrs.append(learner.policy_lr())
        learner.train(batch, t_env=0, episode_num=1)
        if len(lrs) == 1:
            moved = max(float((p.detach() - b).abs().max()) for p, b in zip(learner.agent_params, before, strict=True))
    return moved, lrs


def test_lr_warmup_ramps_the_policy_lr_and_shrinks_the_first_step(fake):
    moved, lrs = _first_step_change(fake, lr=1e-3)
    moved_warm, lrs_warm = _first_step_change(fake, lr=1e-3, lr_warmup_steps=4)
    assert lrs == [1e-3] * 3
    assert lrs_warm == pytest.approx([2.5e-4, 5e-4, 7.5e-4])
    # Adam's first step moves each parameter by about lr whatever the gradient: a quarter of it here.
    assert moved == pytest.approx(1e-3, rel=0.05) and moved_warm == pytest.approx(2.5e-4, rel=0.05)


def test_lr_warmup_reaches_lr_and_leaves_the_critic_alone(fake):
    mac, batch = fake.mac(), fake.batch()
    learner = LolmPPOLearner(mac, {}, fake.logger(), fake.args(epochs=2, lr=1e-3, lr_warmup_steps=2))
    learner.train(batch, t_env=0, episode_num=1)  # two policy steps: lr/2, then lr
    assert learner.agent_optimiser.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert learner.policy_lr() == pytest.approx(1e-3)
    assert learner.critic_optimiser.param_groups[0]["lr"] == pytest.approx(1e-3)
