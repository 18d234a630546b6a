"""The fast path equals the plain path in every body dtype a CPU may run, each with its own tolerance.

A run may ask for a bfloat16 body on any machine (`llm_dtype: bfloat16`; `auto` on CUDA), and CPUs
compute it with different kernels (emulated on AVX2, native with avx512_bf16 or AMX), so the
switches' equality is checked in both dtypes on every machine: each CPU kind runs the same assertions. The float32 bounds are the other equality tests' own; bfloat16 has
an 8-bit mantissa (relative rounding 2^-8 = 3.9e-3), and the prefix cache and the buckets sum the same
terms in another order and batch shape, so its bounds are a few such roundings after 2 layers.
"""

import pytest
import torch

from epymarl_llm.policy.dtype_choice import cpu_bf16_native

PLAIN = dict(prefix_cache=False, length_buckets=False)
FAST = dict(prefix_cache=True, length_buckets=True)
# dtype -> (probability bounds, gradient bounds). bf16's were set about 4x above the worst cases seen
# on a Sapphire Rapids CPU (AMX): probability 2.3e-3 absolute, gradient 7.8e-3 relative (tensor norm).
TOLERANCE = {
    "float32": (dict(atol=2e-6, rtol=1e-4), dict(atol=1e-6, rtol=1e-3)),
    "bfloat16": (dict(atol=1e-2, rtol=5e-2), 3e-2),
}
DTYPES = [
    pytest.param("float32", id="float32"),
    pytest.param("bfloat16", id="bfloat16-native" if cpu_bf16_native() else "bfloat16-emulated"),
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_rollout_probabilities_with_every_switch_equal_the_plain_path(make_policy, step, dtype):
    batch, avail = step
    plain, fast = make_policy(llm_dtype=dtype, **PLAIN), make_policy(llm_dtype=dtype, **FAST)
    assert fast.backbone_dtype == getattr(torch, dtype)
    with torch.no_grad():
        for reference in (False, True):
            want = plain.forward_chunked(batch, avail, reference=reference, max_rows=5).softmax(-1)
            got = fast.forward_chunked(batch, avail, reference=reference, max_rows=5).softmax(-1)
            torch.testing.assert_close(got, want, **TOLERANCE[dtype][0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_gradients_with_every_switch_equal_the_plain_path(make_policy, step, dtype):
    batch, avail = step
    grads = []
    for cfg in (PLAIN, FAST):
        policy = make_policy(llm_dtype=dtype, **cfg)
        for idx in policy.row_groups(batch, 4):
            logp = policy(batch.select(idx), avail[idx]).log_softmax(-1)
            ((logp * avail[idx]).sum() / len(batch)).backward()
        grads.append({n: p.grad.clone() for n, p in policy.named_parameters() if p.grad is not None})
    plain, fast = grads
    assert plain.keys() == fast.keys() and any("lora_A" in n for n in plain)
    for name in plain:
        assert plain[name].dtype == torch.float32  # LoRA and the head train in float32 on any body
        if dtype == "float32":
            torch.testing.assert_close(fast[name], plain[name], **TOLERANCE[dtype][1])
        else:  # bf16 rounding moves single small entries a lot: bound the tensor's relative error
            error = float((fast[name] - plain[name]).norm() / plain[name].norm())
            assert error < TOLERANCE[dtype][1], name


def test_the_bf16_bounds_are_tight_enough_to_catch_a_wrong_prefix(make_policy, step):
    """A bound loose enough to pass anything proves nothing: a policy whose adapter differs must fail."""
    batch, avail = step
    plain, other = make_policy(llm_dtype="bfloat16", **PLAIN), make_policy(llm_dtype="bfloat16", **FAST)
    with torch.no_grad():
        for name, p in other.model.named_parameters():
            if "lora_B" in name:
                p.mul_(1.5)
        want = plain.forward_chunked(batch, avail).softmax(-1)
        got = other.forward_chunked(batch, avail).softmax(-1)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(got, want, **TOLERANCE["bfloat16"][0])
