"""LEED's expert loss: it raises the policy's probability of the demonstrated actions, its weights
follow `demo_weighting`, and the learner calls it through its extra-loss hook once per epoch."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from epymarl_llm.leed.config import LeedConfig, LeedConfigError
from epymarl_llm.leed.demo_policies import LolmDemoPolicy
from epymarl_llm.leed.expert_loss import ExpertLoss, demo_weight
from epymarl_llm.leed.store import write_batch, write_manifest

sys.path.insert(0, str(Path(__file__).parent))
from helpers import MAP, demo_episodes, layout


def demo_probability(loss: ExpertLoss) -> float:
    """Mean pi(a_demo | o) over every live demonstration step (no gradient)."""
    with torch.no_grad():
        total, count = 0.0, 0
        for logp, actions in loss.policy.log_prob_chunks(loss.demos):
            total += float(logp.gather(-1, actions[:, None]).exp().sum())
            count += len(actions)
    return total / count


@pytest.fixture(scope="module")
def lolm_mac(tiny_model_dir):
    from epymarl_llm.policy import LlmPolicy, PolicyConfig
    from epymarl_llm.prompts import PromptEncoder

    torch.manual_seed(0)
    policy = LlmPolicy(PolicyConfig(llm_model=str(tiny_model_dir), device="cpu", action_dim=32, llm_dtype="float32"))
    return SimpleNamespace(policy=policy, prompt_encoder=PromptEncoder(layout(), policy.tokenizer))


def test_expert_loss_raises_the_probability_of_demonstrated_actions_on_a_fixed_batch(lolm_mac):
    demos = demo_episodes(n_episodes=1, length=3)
    config = LeedConfig(demo_path="unused", demo_coef=1.0, demo_batch_episodes=len(demos))
    loss = ExpertLoss(config, demos, LolmDemoPolicy(lolm_mac, max_prompts_per_forward=16))
    params = [p for p in lolm_mac.policy.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=3e-3)
    before = demo_probability(loss)
    for _ in range(6):
        optimiser.zero_grad()
        stats = loss.accumulate(t_env=0)
        optimiser.step()
    after = demo_probability(loss)
    assert stats.steps == int(demos.live().sum()) and stats.weight == 1.0
    assert after > before + 0.1, (before, after)
    assert loss.similarity > 0  # measured on the last term


def test_weightings():
    c = {"demo_path": "x", "demo_coef": 2.0, "demo_anneal_steps": 100}
    assert demo_weight(LeedConfig(**c), 50, 0.9) == 2.0
    assert demo_weight(LeedConfig(**c, demo_weighting="anneal"), 25, 0.9) == pytest.approx(1.5)
    assert demo_weight(LeedConfig(**c, demo_weighting="anneal"), 500, 0.9) == 0.0
    assert demo_weight(LeedConfig(**c, demo_weighting="dynamic"), 0, 0.75) == pytest.approx(0.5)


class _Policy:
    """A DemoPolicy of fixed logits per action: the loss reads nothing else."""

    def __init__(self, n_actions):
        self.logits = torch.nn.Parameter(torch.zeros(n_actions))
        self.seen: list[np.ndarray] = []  # episode_return of each minibatch (the helpers' episodes differ by it)

    def log_prob_chunks(self, episodes, steps=None):
        self.seen.append(episodes.episode_return.copy())
        steps = episodes.live() if steps is None else steps
        avail = torch.as_tensor(episodes.avail[steps] > 0)
        logits = self.logits.expand(len(avail), -1)
        from epymarl_llm.learner.losses import masked_log_softmax

        yield masked_log_softmax(logits, avail), torch.as_tensor(episodes.actions[steps])


class _Logger:
    def __init__(self):
        self.sacred_info, self.stats = {}, {}

    def log_stat(self, key, value, t):
        self.stats[key] = value


def test_minibatches_never_repeat_an_episode_and_each_pass_uses_each_once():
    demos = demo_episodes(n_episodes=5, length=2)
    demos.episode_return = np.arange(5, dtype=np.float32)  # the episode's identity in the minibatch
    policy = _Policy(demos.n_actions)
    loss = ExpertLoss(LeedConfig(demo_path="x", demo_batch_episodes=2), demos, policy, seed=3)
    for _ in range(600):
        loss.accumulate(t_env=0)
    repeats = [batch.tolist() for batch in policy.seen if len(set(batch.tolist())) < len(batch)]
    assert not repeats, f"{len(repeats)} of 600 minibatches repeat an episode, e.g. {repeats[0]}"
    counts = np.bincount(np.concatenate(policy.seen).astype(int), minlength=5)
    assert counts.max() - counts.min() <= 1, counts  # 1200 draws: 240 passes over the 5 episodes


def test_invalid_demonstration_steps_are_left_out_unless_kept(tmp_path):
    demos = demo_episodes(n_episodes=2, length=4)
    live = demos.live()
    demos.valid[:, :, 0] = 0  # agent 0's answers did not parse: its actions are random stand-ins
    demos.actions[:, :, 0] = np.where(live[:, :, 0], 1, demos.actions[:, :, 0])
    invalid = int((live & (demos.valid == 0)).sum())
    assert 0 < invalid < int(live.sum())
    _write(tmp_path, demos)

    logger = _Logger()
    policy = _Policy(demos.n_actions)
    loss = ExpertLoss.from_args(_args(tmp_path, demo_path=str(tmp_path), demo_batch_episodes=2), policy, logger)
    stats = loss.accumulate(t_env=0)
    assert stats.steps == int(live.sum()) - invalid
    assert stats.invalid_masked == pytest.approx(invalid / int(live.sum()))
    assert logger.stats["leed_invalid_masked"] == pytest.approx(stats.invalid_masked)
    info = logger.sacred_info["leed_demos"]
    assert info["invalid_steps"] == pytest.approx(invalid / int(live.sum())) and info["invalid_steps_trained"] is False
    # The gradient is that of the valid steps alone: the stand-in actions are not imitated.
    from epymarl_llm.learner.losses import masked_log_softmax

    reference = torch.nn.Parameter(torch.zeros(demos.n_actions))
    valid = live & (demos.valid > 0)
    avail = torch.as_tensor(demos.avail[valid] > 0)
    logp = masked_log_softmax(reference.expand(len(avail), -1), avail)
    (-logp.gather(-1, torch.as_tensor(demos.actions[valid])[:, None]).mean()).backward()
    torch.testing.assert_close(policy.logits.grad, reference.grad)

    kept = ExpertLoss.from_args(
        _args(tmp_path, demo_path=str(tmp_path), demo_batch_episodes=2, demo_keep_invalid=True), _Policy(11)
    )
    kept_stats = kept.accumulate(t_env=0)
    assert kept_stats.steps == int(live.sum()) and kept_stats.invalid_masked == 0.0


def test_dynamic_weight_uses_the_similarity_measured_by_the_previous_term():
    demos = demo_episodes(n_episodes=2, length=3)
    loss = ExpertLoss(LeedConfig(demo_path="x", demo_weighting="dynamic"), demos, _Policy(demos.n_actions))
    first = loss.accumulate(0)
    assert first.weight == 1.0  # nothing measured yet
    second = loss.accumulate(0)
    assert second.weight == pytest.approx(1.0 - first.similarity)


def test_zero_weight_adds_no_gradient():
    demos = demo_episodes(n_episodes=1, length=3)
    policy = _Policy(demos.n_actions)
    loss = ExpertLoss(LeedConfig(demo_path="x", demo_weighting="anneal", demo_anneal_steps=10), demos, policy)
    loss.accumulate(t_env=10)
    assert policy.logits.grad is None


def _args(tmp_path, **leed):
    base = {f: getattr(LeedConfig(), f) for f in LeedConfig.__dataclass_fields__}
    return SimpleNamespace(
        n_agents=5, n_actions=11, env_args={"map_name": MAP}, learner_log_interval=0, **{**base, **leed}
    )


def _write(tmp_path, demos, map_name=MAP):
    name = write_batch(tmp_path, 0, demos)
    write_manifest(tmp_path, {"batches": [name], "map_name": map_name, "demonstrator": {"kind": "test"}})


def test_from_args_loads_the_demonstrations_and_the_ablation_has_none(tmp_path):
    demos = demo_episodes(n_episodes=2, length=3)
    _write(tmp_path, demos)
    loss = ExpertLoss.from_args(_args(tmp_path, demo_path=str(tmp_path)), _Policy(11))
    assert len(loss.demos) == 2
    assert ExpertLoss.from_args(_args(tmp_path, demo_coef=0.0), _Policy(11)) is None


@pytest.mark.parametrize(
    "leed, message",
    [
        ({"demo_path": None}, "demo_coef > 0 needs demonstrations"),
        ({"demo_path": "MISSING"}, "holds no manifest.json"),
        ({"demo_coeff": 1.0}, "unknown LEED key(s) demo_coeff"),
        ({"demo_weighting": "linear"}, "demo_weighting must be one of"),
        ({"demo_only_won": True}, "no demonstration episode"),
    ],
)
def test_bad_settings_are_errors_that_name_the_fix(tmp_path, leed, message):
    _write(tmp_path, demo_episodes(n_episodes=1, length=2))
    leed = {k: (str(tmp_path / "none") if v == "MISSING" else v) for k, v in leed.items()}
    args = _args(tmp_path, **{"demo_path": str(tmp_path), **leed})
    with pytest.raises((LeedConfigError, ValueError), match=message.replace("(", r"\(").replace(")", r"\)")):
        ExpertLoss.from_args(args, _Policy(11))


def test_demonstrations_of_another_map_are_refused(tmp_path):
    _write(tmp_path, demo_episodes(n_episodes=1, length=2), map_name="3s5z")
    with pytest.raises(ValueError, match="generate demonstrations on '2s3z'"):
        ExpertLoss.from_args(_args(tmp_path, demo_path=str(tmp_path)), _Policy(11))


def test_missing_key_asks_to_refresh_the_yaml(tmp_path):
    args = vars(_args(tmp_path)).copy()
    del args["demo_weighting"]
    with pytest.raises(LeedConfigError, match="epymarl-llm install"):
        LeedConfig.from_args(args)


def test_the_learner_calls_the_extra_loss_once_per_epoch_before_its_step():
    from epymarl_llm.learner import LolmPPOLearner
    from tests.learner.conftest import FakeMac, Recorder, make_args, make_batch

    torch.manual_seed(0)
    mac = FakeMac()
    learner = LolmPPOLearner(mac, {}, Recorder(), make_args(epochs=3))
    calls = []

    class Spy:
        def accumulate(self, t_env):
            # the PPO gradient of this epoch is already there; add a known one to the head's bias
            calls.append((t_env, mac.policy.head.bias.grad is not None))
            mac.policy.head.bias.grad = mac.policy.head.bias.grad + 1.0

    learner.extra_loss = Spy()
    before = mac.policy.head.bias.detach().clone()
    learner.train(make_batch(), t_env=7, episode_num=1)
    assert calls == [(7, True)] * 3
    # Adam's first steps move each bias entry by about -lr per step in the sign of its gradient
    assert bool((mac.policy.head.bias.detach() < before).all())
    assert np.isfinite(mac.policy.head.bias.detach().numpy()).all()


def test_a_saved_expert_loss_draws_the_same_minibatches_after_loading():
    demos = demo_episodes(n_episodes=5, length=2)
    demos.episode_return = np.arange(5, dtype=np.float32)
    config = LeedConfig(demo_path="x", demo_batch_episodes=2, demo_weighting="dynamic")
    running = ExpertLoss(config, demos, _Policy(demos.n_actions), seed=1)
    for _ in range(3):
        running.accumulate(t_env=0)  # mid-pass: one episode left over
    state = running.state_dict()
    resumed = ExpertLoss(config, demos, _Policy(demos.n_actions), seed=1)
    resumed.load_state_dict(state)
    for _ in range(4):
        assert resumed.accumulate(t_env=0).weight == running.accumulate(t_env=0).weight
    assert [b.tolist() for b in resumed.policy.seen] == [b.tolist() for b in running.policy.seen[3:]]


@pytest.mark.parametrize("body", ["tiny", "llama-tiny"])
def test_cached_lower_states_of_demonstrations_give_the_plain_log_probs_and_gradients(
    body, tiny_model_dir, llama_tiny_model_dir
):
    """lora_layers=K: the demonstrations' frozen lower layers run once per run, and every later draw
    gives the log-probabilities and LoRA gradients of the whole-body pass."""
    from epymarl_llm.policy import LlmPolicy, PolicyConfig
    from epymarl_llm.prompts import PromptEncoder

    model_dir = tiny_model_dir if body == "tiny" else llama_tiny_model_dir
    torch.manual_seed(0)
    cfg = PolicyConfig(llm_model=str(model_dir), device="cpu", action_dim=32, llm_dtype="float32", lora_layers=1)
    policy = LlmPolicy(cfg)
    with torch.no_grad():  # a trained-looking adapter, so the top layer's LoRA path counts
        for name, p in policy.model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.3)
    mac = SimpleNamespace(policy=policy, prompt_encoder=PromptEncoder(layout(), policy.tokenizer))
    demos = demo_episodes(n_episodes=2, length=3)
    plain, cached = LolmDemoPolicy(mac, 4, lower_cache_mb=0), LolmDemoPolicy(mac, 4, lower_cache_mb=64)
    params = [p for p in policy.parameters() if p.requires_grad]

    def pass_of(demo_policy):
        policy.zero_grad()
        chunks = list(demo_policy.log_prob_chunks(demos))
        sum(logp.gather(-1, a[:, None]).sum() for logp, a in chunks).backward()
        return torch.cat([logp.detach() for logp, _ in chunks]), [p.grad.clone() for p in params]

    expected_logp, expected_grads = pass_of(plain)
    for _draw in range(2):  # the first draw fills the cache, the second reads it
        logp, grads = pass_of(cached)
        torch.testing.assert_close(logp, expected_logp, atol=1e-5, rtol=1e-5)
        for got, want in zip(grads, expected_grads, strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    assert cached.lower_cache.computed == cached.lower_cache.hits > 0  # every chunk: computed once, then read
    assert plain.lower_cache.hits == plain.lower_cache.computed == 0


def test_demonstration_chunks_hold_the_prompts_the_learners_memory_sizing_allows(lolm_mac):
    demos = demo_episodes(n_episodes=2, length=3)
    asked = []

    def one_prompt(tokens, avail):  # as `LolmPPOLearner.rows_within_memory` under a tight budget
        asked.append(len(tokens))
        return 1

    def taken_log_probs(demo_policy):
        with torch.no_grad():
            chunks = list(demo_policy.log_prob_chunks(demos))
        return chunks, sum(float(logp.gather(-1, a[:, None]).sum()) for logp, a in chunks)

    sized, sized_total = taken_log_probs(LolmDemoPolicy(lolm_mac, one_prompt))
    plain, plain_total = taken_log_probs(LolmDemoPolicy(lolm_mac, max_prompts_per_forward=16))
    live = int(demos.live().sum())
    assert asked == [live] and len(sized) == live and all(len(a) == 1 for _, a in sized)
    assert len(plain) < len(sized)
    assert abs(sized_total - plain_total) < 1e-4 * live


def test_the_learner_sizes_any_prompts_to_its_memory_budget(tiny_model_dir):
    from epymarl_llm.policy import LlmPolicy, PolicyConfig
    from epymarl_llm.prompts import PromptEncoder
    from tests.perf.perf_learners import learner_for

    policy = LlmPolicy(PolicyConfig(llm_model=str(tiny_model_dir), device="cpu", action_dim=32, llm_dtype="float32"))
    encoder = PromptEncoder(layout(), policy.tokenizer)
    demos = demo_episodes(n_episodes=1, length=3)
    live = demos.live()
    avail = torch.as_tensor(demos.avail[live] > 0)
    tokens = encoder.encode(torch.as_tensor(demos.obs[live]), avail, torch.as_tensor(live.nonzero()[2]))
    for memory_mb, rows in ((0, 16), (1, 1), (10**6, 16)):  # off; 1 MiB: one tiny prompt at most; ample
        learner, _ = learner_for(policy, layout(), update_memory_mb=memory_mb)
        assert learner.rows_within_memory(tokens, avail) == rows
