"""Every fast-path switch gives the plain path's probabilities (and gradients in training)."""

import itertools

import pytest
import torch

from epymarl_llm.policy import backbone

# Qwen3 and Llama (SmolLM2's family) layers: every test that loads a model runs on both.
BODIES = ("tiny", "llama-tiny")

PLAIN = dict(prefix_cache=False, length_buckets=False)
SWITCHES = [dict(prefix_cache=p, length_buckets=b) for p, b in itertools.product((False, True), repeat=2)]


@pytest.mark.parametrize("switches", SWITCHES[1:], ids=lambda s: ",".join(k for k, v in s.items() if v))
def test_rollout_probabilities_equal_the_plain_path(make_policy, step, switches):
    batch, avail = step
    plain, fast = make_policy(**PLAIN), make_policy(**switches)
    with torch.no_grad():
        for reference in (False, True):
            want = plain.forward_chunked(batch, avail, reference=reference, max_rows=5).softmax(-1)
            for _ in range(2):  # the second call reuses the cached prefix
                got = fast.forward_chunked(batch, avail, reference=reference, max_rows=5).softmax(-1)
                torch.testing.assert_close(got, want, atol=2e-6, rtol=1e-4)


@pytest.mark.parametrize("switches", SWITCHES[1:], ids=lambda s: ",".join(k for k, v in s.items() if v))
def test_training_gradients_equal_the_plain_path(make_policy, step, switches):
    """The learner's chunks (buckets or consecutive rows), prefix once per chunk with gradients."""
    batch, avail = step
    grads = []
    for cfg in (PLAIN, switches):
        policy = make_policy(**cfg)
        total = 0.0
        for idx in policy.row_groups(batch, 4):
            logp = policy(batch.select(idx), avail[idx]).log_softmax(-1)
            loss = (logp * avail[idx]).sum() / len(batch)
            loss.backward()
            total += float(loss.detach())
        grads.append((total, {n: p.grad.clone() for n, p in policy.named_parameters() if p.grad is not None}))
    (loss_plain, g_plain), (loss_fast, g_fast) = grads
    assert loss_fast == pytest.approx(loss_plain, rel=1e-5)
    assert g_plain.keys() == g_fast.keys() and any("lora_A" in n for n in g_plain)
    for name in g_plain:
        torch.testing.assert_close(g_fast[name], g_plain[name], atol=1e-6, rtol=1e-3)


def _count_prefix_runs(monkeypatch) -> list[int]:
    calls = []
    original = backbone.run_prefix

    def counting(model, ids):
        calls.append(ids.shape[1])
        return original(model, ids)

    monkeypatch.setattr("epymarl_llm.policy.policy.run_prefix", counting)
    return calls


def test_the_rollout_prefix_is_reused_until_lora_changes(make_policy, step, monkeypatch):
    batch, avail = step
    policy, plain = make_policy(), make_policy(**PLAIN)
    calls = _count_prefix_runs(monkeypatch)
    with torch.no_grad():
        for _ in range(3):
            policy.forward_chunked(batch, avail)
            policy.reference_logits(batch, avail)
    assert len(calls) == 2  # one policy prefix, one reference prefix, for 3 steps of several chunks
    # an optimiser step (in-place update of the LoRA tensors) invalidates the policy prefix only
    opt = torch.optim.Adam(policy.trainable_parameters(), lr=1e-2)
    policy.train()
    (policy(batch, avail).log_softmax(-1) * avail).sum().backward()  # grads: prefix run with autograd
    opt.step()
    policy.eval()
    plain.load_state_dict(policy.state_dict())  # the plain path with the updated weights
    calls.clear()
    with torch.no_grad():
        got = policy.forward_chunked(batch, avail)
        ref = policy.reference_logits(batch, avail)
        torch.testing.assert_close(got.softmax(-1), plain(batch, avail).softmax(-1), atol=2e-6, rtol=1e-4)
        torch.testing.assert_close(
            ref.softmax(-1), plain.reference_logits(batch, avail).softmax(-1), atol=2e-6, rtol=1e-4
        )
    assert len(calls) == 1  # the new policy prefix; the reference prefix is the run's
    # loading weights (load_state_dict copies in place) invalidates it too
    other = make_policy()
    with torch.no_grad():
        other.forward_chunked(batch, avail)
        other.load_state_dict(policy.state_dict())
        torch.testing.assert_close(other.forward_chunked(batch, avail), got, atol=2e-6, rtol=1e-4)


def test_a_caller_disabling_the_adapter_never_gets_the_policy_prefix(make_policy, step):
    batch, avail = step
    policy = make_policy()
    with torch.no_grad():
        on = policy.hidden(batch)
        with policy.model.disable_adapter():
            off = policy.hidden(batch)
        again = policy.hidden(batch)
    torch.testing.assert_close(again, on)
    assert not torch.allclose(off, on, atol=1e-3)
    plain = make_policy(**PLAIN)
    with torch.no_grad(), plain.model.disable_adapter():
        torch.testing.assert_close(off, plain.hidden(batch), atol=2e-6, rtol=1e-4)


def test_gradient_checkpointing_training_equals_the_plain_path(make_policy, step):
    batch, avail = step
    grads = []
    for cfg in (PLAIN, dict(gradient_checkpointing=True)):
        policy = make_policy(**cfg)
        policy.train()
        (policy(batch, avail).log_softmax(-1) * avail).sum().backward()
        grads.append({n: p.grad for n, p in policy.named_parameters() if p.grad is not None})
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], atol=1e-6, rtol=1e-3)


def test_the_fixed_prompt_ablation_through_every_switch_equals_the_plain_path(make_policy, model_dir):
    """Fixed prompts (every unit listed, dead or unseen) with the prefix cache, buckets, the last layer
    at the head's positions and frozen lower layers at once, against none of them."""
    from transformers import AutoTokenizer

    from epymarl_llm.prompts import PromptConfig, PromptEncoder, load_map_layout, random_observations

    layout = load_map_layout("3s5z_vs_3s6z", env="sc2")
    encoder = PromptEncoder(layout, AutoTokenizer.from_pretrained(model_dir), config=PromptConfig(dynamic_prompt=False))
    obs, avail, ids = random_observations(layout, 8, seed=4)
    avail[:, 0], avail[:, 1] = 0, 1
    batch, avail = encoder.encode(obs, avail, ids), torch.as_tensor(avail) != 0
    fast = make_policy(lora_layers=1)
    plain = make_policy(**PLAIN, head_positions_only=False, lora_layers=1)
    assert fast._head_positions_ok and batch.prefix_len > 0
    with torch.no_grad():
        for reference in (False, True):
            torch.testing.assert_close(
                fast.forward_chunked(batch, avail, reference=reference, max_rows=3).softmax(-1),
                plain.forward_chunked(batch, avail, reference=reference).softmax(-1),
                atol=2e-6,
                rtol=1e-4,
            )
        lower = fast.lower_states(batch)
        torch.testing.assert_close(
            fast(batch, avail, lower=lower).softmax(-1), plain(batch, avail).softmax(-1), atol=2e-6, rtol=1e-4
        )
