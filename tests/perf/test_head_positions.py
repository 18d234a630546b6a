"""`head_positions_only`: the last layer at the positions the action head reads gives the same
probabilities and gradients as the full last layer."""

import pytest
import torch

from epymarl_llm.learner import losses
from epymarl_llm.policy.head_positions import read_positions

# Qwen3 and Llama (SmolLM2's family) layers: every test that loads a model runs on both.
BODIES = ("tiny", "llama-tiny")


def _pair(make_policy, **keys):
    fast, plain = make_policy(**keys), make_policy(head_positions_only=False, **keys)
    plain.load_state_dict(fast.state_dict())
    assert fast._head_positions_ok and not plain._head_positions_ok
    return fast, plain


@pytest.mark.parametrize("keys", [{}, {"prefix_cache": False}, {"attack_keys": "shared"}, {"lora_layers": 1}])
def test_probabilities_equal_the_full_last_layer(make_policy, step, keys):
    tokens, avail = step
    fast, plain = _pair(make_policy, **keys)
    with torch.no_grad():
        torch.testing.assert_close(
            fast.forward_chunked(tokens, avail).softmax(-1),
            plain.forward_chunked(tokens, avail).softmax(-1),
            atol=2e-6,
            rtol=1e-4,
        )
        torch.testing.assert_close(
            fast.reference_logits(tokens, avail), plain.reference_logits(tokens, avail), atol=1e-5, rtol=1e-5
        )
    if fast.splits_layers:
        lower = fast.lower_states(tokens)
        torch.testing.assert_close(fast(tokens, avail, lower=lower), plain(tokens, avail), atol=1e-5, rtol=1e-5)


def test_gradients_equal_the_full_last_layer(make_policy, step):
    tokens, avail = step
    grads = []
    for policy in _pair(make_policy):
        policy.zero_grad()
        logp = losses.masked_log_softmax(policy(tokens, avail), avail)
        (logp.exp() * logp).sum().backward()
        grads.append({n: p.grad.clone() for n, p in policy.named_parameters() if p.requires_grad})
    for name, g in grads[1].items():
        torch.testing.assert_close(grads[0][name], g, atol=1e-5, rtol=1e-4, msg=name)
    assert any(float(g.abs().max()) > 0 for n, g in grads[0].items() if "layers.1." in n)  # the wrapped layer learns


def test_read_positions_are_the_last_token_and_the_target_spans():
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    spans = torch.tensor([[[2, 4]], [[0, 0]]])
    assert read_positions(mask, spans, 0).int().tolist() == [[0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 1]]
    assert read_positions(mask, spans, 2).int().tolist() == [[1, 1, 1, 0], [0, 0, 0, 1]]
    assert read_positions(mask, None, 0).int().tolist() == [[0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]]
