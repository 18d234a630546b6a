"""`lower_layers_int8`: the frozen layers below `lora_layers: K` with int8 linear maps.

The switch is lossy, so its test is not equality with float32 but: every pass of the int8 policy
agrees with every other pass of it (the rollout, the reference, pi_old and the epochs see one
policy), it stays within a measured bound of the float32 policy, the bound would catch a layer the
quantization broke, and the settings it cannot serve are refused with the fix.
"""

import pytest
import torch

from epymarl_llm.learner import losses
from epymarl_llm.policy.errors import PolicyConfigError
from epymarl_llm.policy.int8_layers import int8_linear_count
from epymarl_llm.policy.layer_split import decoder_body

BODIES = ("tiny", "llama-tiny")

# Measured on the tiny bodies (float32 against an int8 lower layer, 12 prompts): largest probability
# difference 3.6e-4 (Qwen3) and 4.6e-4 (Llama). The bound is about 7x that; one broken layer gives 1e-2.
PROB_BOUND = 3e-3


def _probs(policy, tokens, avail, **kwargs):
    with torch.no_grad():
        return losses.masked_log_softmax(policy(tokens, avail, **kwargs), avail).exp()


def test_int8_swaps_exactly_the_lower_layers_linear_maps(make_policy):
    policy = make_policy(lora_layers=1, lower_layers_int8=True)
    layers = decoder_body(policy.model).layers
    assert int8_linear_count(layers[0]) == 7  # q, k, v, o, gate, up, down
    assert int8_linear_count(layers[1]) == 0  # the adapted layer stays float32, LoRA included
    assert any("lora_A" in n for n, _ in layers[1].named_parameters())
    assert int8_linear_count(make_policy(lora_layers=1)) == 0  # off by default


def test_int8_probabilities_stay_near_float32_and_every_pass_agrees(make_policy, step):
    tokens, avail = step
    plain = _probs(make_policy(lora_layers=1), tokens, avail)
    policy = make_policy(lora_layers=1, lower_layers_int8=True)
    int8 = _probs(policy, tokens, avail)
    error = float((int8 - plain).abs().max())
    assert 0 < error < PROB_BOUND  # moved (the int8 kernels ran), but by rounding only
    # The rollout's kept lower states, the learner's own and the whole-body pass: one policy.
    torch.testing.assert_close(_probs(policy, tokens, avail, lower=policy.lower_states(tokens)), int8)
    with torch.no_grad():
        chunked = policy.forward_chunked(tokens, avail)
    torch.testing.assert_close(losses.masked_log_softmax(chunked, avail).exp(), int8, atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        reference = policy.reference_logits(tokens, avail)
        torch.testing.assert_close(policy.reference_logits(tokens, avail, lower=policy.lower_states(tokens)), reference)


def test_the_bound_catches_a_broken_lower_layer(make_policy, step):
    tokens, avail = step
    plain = _probs(make_policy(lora_layers=1), tokens, avail)
    policy = make_policy(lora_layers=1, lower_layers_int8=True)
    broken = decoder_body(policy.model).layers[0].mlp.down_proj
    weight, bias = broken._packed_params._weight_bias()
    broken.set_weight_bias(torch.quantize_per_tensor(weight.dequantize() * -3, 0.05, 0, torch.qint8), bias)
    assert float((_probs(policy, tokens, avail) - plain).abs().max()) > PROB_BOUND


def test_lora_gradients_flow_through_int8_lower_layers(make_policy, step):
    tokens, avail = step
    grads = []
    for int8 in (False, True):
        policy = make_policy(lora_layers=1, lower_layers_int8=int8)
        params = [p for p in policy.parameters() if p.requires_grad]
        logp = losses.masked_log_softmax(policy(tokens, avail), avail)
        (logp.exp() * logp).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in params]))
    assert float(grads[1].abs().max()) > 0
    assert float((grads[1] - grads[0]).norm() / grads[0].norm()) < 0.1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "lora_layers=K"),  # lora_layers: all leaves nothing frozen to quantize
        ({"lora_layers": 1, "llm_dtype": "bfloat16"}, "llm_dtype=float32"),
    ],
)
def test_settings_int8_cannot_serve_are_refused_with_the_fix(make_policy, overrides, message):
    with pytest.raises(PolicyConfigError, match=message) as err:
        make_policy(lower_layers_int8=True, **overrides)
    assert "lower_layers_int8=False" in str(err.value)


def test_a_checkpoint_of_the_int8_policy_loads_into_the_float32_one(make_policy, step, tmp_path):
    """Only LoRA and the head are saved; the body's int8 copy is rebuilt from the model's weights."""
    tokens, avail = step
    int8 = make_policy(lora_layers=1, lower_layers_int8=True)
    with torch.no_grad():
        int8.head.query.weight.mul_(1.5)  # differs from a fresh policy's head
    int8.save_trainable(tmp_path / "ckpt")
    plain = make_policy(lora_layers=1)
    plain.load_trainable(tmp_path / "ckpt")
    torch.testing.assert_close(plain.head.query.weight, int8.head.query.weight)
    assert float((_probs(plain, tokens, avail) - _probs(int8, tokens, avail)).abs().max()) < PROB_BOUND
