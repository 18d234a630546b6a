"""`lora_layers: K`: LoRA on the top K layers, the frozen lower layers run once per agent-step.

Every pass that starts from the kept lower-layer states must equal the whole-body pass of the same
policy: logits, reference logits, gradients, and a whole learner update.
"""

import pytest
import torch

from epymarl_llm.learner import losses
from epymarl_llm.learner.episode_tensors import EpisodeTensors
from epymarl_llm.policy import PolicyConfig
from epymarl_llm.policy.errors import PolicyConfigError, TargetModulesError
from epymarl_llm.prompts import load_map_layout
from epymarl_llm_tools.bench.episodes import replay_rollout, synthetic_episodes
from tests.perf.perf_learners import learner_for

# Qwen3 and Llama (SmolLM2's family) layers: every test that loads a model runs on both.
BODIES = ("tiny", "llama-tiny")

MAP = "3s5z_vs_3s6z"


def adapted_layers(policy) -> set[int]:
    return {int(n.split("layers.")[1].split(".")[0]) for n, _ in policy.model.named_parameters() if "lora_A" in n}


def test_lora_sits_on_the_top_k_layers_only(make_policy):
    assert adapted_layers(make_policy()) == {0, 1}
    policy = make_policy(lora_layers=1)
    assert adapted_layers(policy) == {1} and policy.first_adapted_layer == 1 and policy.splits_layers
    assert not make_policy(lora_layers=2).splits_layers  # K = depth: every layer, nothing frozen below


def test_lora_layers_values_are_checked(make_policy):
    assert PolicyConfig(lora_layers="top-3").lora_layers == 3
    for bad in (0, -1, "some", True, 1.5):
        with pytest.raises(PolicyConfigError, match="lora_layers"):
            PolicyConfig(lora_layers=bad)
    with pytest.raises(TargetModulesError, match="at most 2"):
        make_policy(lora_layers=3)


@pytest.mark.parametrize("prefix_cache", [True, False])
def test_top_layers_from_lower_states_equal_the_whole_body(make_policy, step, prefix_cache):
    tokens, avail = step
    policy = make_policy(lora_layers=1, prefix_cache=prefix_cache)
    lower = policy.lower_states(tokens)
    assert lower.prefix_len == (tokens.prefix_len if prefix_cache else 0)
    with torch.no_grad():
        torch.testing.assert_close(policy(tokens, avail, lower=lower), policy(tokens, avail), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        policy.reference_logits(tokens, avail, lower=lower),
        policy.reference_logits(tokens, avail),
        atol=1e-5,
        rtol=1e-5,
    )
    # the adapter changes the top layers' output: the comparison is not between two equal references
    assert not torch.allclose(policy(tokens, avail, lower=lower), policy.reference_logits(tokens, avail, lower=lower))


def test_top_layers_stay_exact_when_another_prefix_evicted_the_lower_prefix(make_policy, step):
    """Two prefixes in one process (another prompt template, demonstrations of another map): the
    lower prefix cache holds one entry, so the first batch's top pass recomputes its lower prefix."""
    tokens, avail = step
    other = tokens.select(torch.arange(4))
    other.prefix_len = tokens.prefix_len - 3  # another shared prefix: a shorter one
    policy = make_policy(lora_layers=1, prefix_cache=True, llm_dtype="float32")
    with torch.no_grad():
        expected, expected_ref = policy(tokens, avail), policy.reference_logits(tokens, avail)
        lower = policy.lower_states(tokens)
        policy.lower_states(other)  # evicts the first batch's lower prefix
        torch.testing.assert_close(policy(tokens, avail, lower=lower), expected, atol=1e-5, rtol=1e-5)
        policy.lower_states(other)
        torch.testing.assert_close(
            policy.reference_logits(tokens, avail, lower=lower), expected_ref, atol=1e-5, rtol=1e-5
        )


def test_gradients_through_the_top_layers_equal_the_whole_body(make_policy, step):
    tokens, avail = step
    policy = make_policy(lora_layers=1)
    params = [p for p in policy.parameters() if p.requires_grad]
    grads = []
    for lower in (None, policy.lower_states(tokens)):
        policy.zero_grad()
        logits = policy(tokens, avail) if lower is None else policy(tokens, avail, lower=lower)
        logp = losses.masked_log_softmax(logits, avail)
        (logp.exp() * logp).sum().backward()
        grads.append([p.grad.clone() for p in params])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-4)
    assert any(float(g.abs().max()) > 0 for g in grads[0])


def test_lower_states_of_other_rows_are_refused(make_policy, step):
    from epymarl_llm.policy.errors import BatchError

    tokens, avail = step
    policy = make_policy(lora_layers=1)
    lower = policy.lower_states(tokens.select(torch.arange(3)))
    with pytest.raises(BatchError, match="same rows"):
        policy(tokens, avail, lower=lower)


def _learner(make_policy, layout, cache_mb):
    policy = make_policy(lora_layers=1)
    learner, _ = learner_for(policy, layout, lower_cache_mb=cache_mb, pi_old_from_rollout=False)
    return learner, policy


def _counting(calls: list, fn):
    """`fn`, appending to `calls` once per call (bound here, not by the loop that builds it)."""
    return lambda *a, **k: calls.append(1) or fn(*a, **k)


@pytest.mark.parametrize("cache_mb", [4096, 1])  # 1 MiB: some chunks kept, the rest through the whole body
def test_learner_update_with_kept_lower_states_equals_the_plain_update(make_policy, cache_mb, monkeypatch):
    layout = load_map_layout(MAP, env="sc2")
    episodes = synthetic_episodes(layout, episodes=2, length=3, seed=5)
    updates, lowers = [], []
    for mb in (0, cache_mb):
        learner, policy = _learner(make_policy, layout, mb)
        calls = []
        original = policy.lower_states
        monkeypatch.setattr(policy, "lower_states", _counting(calls, original))
        learner.train(EpisodeTensors({k: v.clone() for k, v in episodes.items()}), 0, 0)
        updates.append({n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad})
        lowers.append(len(calls))
    assert lowers[0] == 0 and lowers[1] > 0  # off: never; on: once per chunk, in the first pass only
    for name in updates[0]:
        torch.testing.assert_close(updates[1][name], updates[0][name], atol=1e-5, rtol=1e-3)


def test_checkpoint_of_another_lora_layers_is_refused(make_policy, tmp_path):
    from epymarl_llm.policy.errors import CheckpointError

    make_policy(lora_layers=1).save_trainable(tmp_path / "top1")
    with pytest.raises(CheckpointError, match="lora_layers"):
        make_policy().load_trainable(tmp_path / "top1")


# --- the lower layers' output from the rollout ---------------------------------------------------------
def _rollout_then_update(make_policy, lower_from_rollout: bool, monkeypatch, lower_cache_mb=4096, **policy_keys):
    """One learner update of an on-policy batch the policy just played (`replay_rollout`), the rollout
    keeping its lower-layer states or not: (trained parameters, learner, mac, batch, lower passes in the update)."""
    layout = load_map_layout(MAP, env="sc2")
    episodes = synthetic_episodes(layout, episodes=2, length=3, seed=5)
    policy = make_policy(lora_layers=1, **policy_keys)
    learner, mac = learner_for(policy, layout, lower_from_rollout=lower_from_rollout, lower_cache_mb=lower_cache_mb)
    batch = EpisodeTensors({k: v.clone() for k, v in episodes.items()})
    replay_rollout(mac.rollout_record, policy, mac.prompt_encoder, batch)
    calls = []
    monkeypatch.setattr(policy, "lower_states", _counting(calls, policy.lower_states))
    learner.train(batch, 0, 0)
    trained = {n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad}
    return trained, learner, mac, batch, len(calls)


@pytest.mark.parametrize("prefix_cache", [True, False])
def test_lower_states_from_the_rollout_give_the_update_the_learner_computes(make_policy, monkeypatch, prefix_cache):
    plain, plain_learner, _, _, plain_lower = _rollout_then_update(
        make_policy, False, monkeypatch, prefix_cache=prefix_cache
    )
    reused, learner, _, _, lower = _rollout_then_update(make_policy, True, monkeypatch, prefix_cache=prefix_cache)
    assert plain_learner.lower_chunks_from_rollout == 0 and plain_lower > 0
    assert learner.lower_chunks_from_rollout > 0 and lower == 0  # the learner never ran the frozen layers
    for name in plain:
        torch.testing.assert_close(reused[name], plain[name], atol=1e-5, rtol=1e-3)


def test_the_rollout_keeps_no_more_lower_states_than_the_budget(make_policy, monkeypatch):
    # 1 MiB holds a few agent-steps' states: chunks with every step kept come from the rollout, the
    # others run the lower layers, and the update is the same.
    plain, *_ = _rollout_then_update(make_policy, False, monkeypatch, lower_cache_mb=1)
    reused, _, mac, batch, _ = _rollout_then_update(make_policy, True, monkeypatch, lower_cache_mb=1)
    kept, _ = mac.rollout_record.lower_lookup(batch)
    assert 0 < sum(s.numel() * s.element_size() for s in kept.values()) <= 2**20
    for name in plain:
        torch.testing.assert_close(reused[name], plain[name], atol=1e-5, rtol=1e-3)


def test_lower_states_answer_for_the_batch_played_only_whatever_the_weights(make_policy, monkeypatch):
    _, _, mac, played, _ = _rollout_then_update(make_policy, True, monkeypatch)
    other = EpisodeTensors({k: v.flip(0).clone() for k, v in played.data.items()})
    assert mac.rollout_record.lower_lookup(other) is None  # another batch (a larger buffer's sample)
    # the update stepped the adapter: pi_old is stale, the frozen layers' output is not
    assert mac.rollout_record.lookup(played, mac.policy.weights_version) is None
    assert mac.rollout_record.lower_lookup(played) is not None
