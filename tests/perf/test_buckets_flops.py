"""Length buckets (an exact partition, optimal padding + overhead) and the FLOP count."""

import itertools

import pytest
import torch

from epymarl_llm.policy.buckets import length_buckets, padded_tokens, row_groups
from epymarl_llm_tools.bench import flops


def _cost(lengths, buckets, overhead):
    return padded_tokens(lengths, buckets) + overhead * len(buckets)


def test_buckets_partition_the_rows_and_respect_max_rows():
    lengths = torch.randint(100, 700, (203,), generator=torch.Generator().manual_seed(0))
    buckets = length_buckets(lengths, 64)
    assert sorted(torch.cat(buckets).tolist()) == list(range(203))
    assert all(1 <= len(b) <= 64 for b in buckets)
    fixed = list(torch.argsort(lengths).split(64))
    assert padded_tokens(lengths, buckets) < padded_tokens(lengths, fixed)
    assert max(lengths[buckets[0]]) == lengths.max()  # longest first: the peak memory shows at once


@pytest.mark.parametrize("seed", range(4))
def test_buckets_are_optimal_against_brute_force(seed):
    lengths = torch.randint(1, 60, (7,), generator=torch.Generator().manual_seed(seed))
    order = torch.argsort(lengths, stable=True)
    best = min(
        _cost(lengths, [order[i:j] for i, j in zip((0, *cuts), (*cuts, 7), strict=True)], 25)
        for k in range(7)
        for cuts in itertools.combinations(range(1, 7), k)
        if all(j - i <= 3 for i, j in zip((0, *cuts), (*cuts, 7), strict=True))
    )
    assert _cost(lengths, length_buckets(lengths, 3, overhead_tokens=25), 25) == best


def test_buckets_off_keeps_consecutive_rows():
    chunks = row_groups(torch.tensor([5, 1, 4, 2, 3]), 2, buckets=False)
    assert [c.tolist() for c in chunks] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="max_rows"):
        length_buckets(torch.tensor([1]), 0)


def test_forward_flops_match_a_hand_count():
    shape = {"hidden": 8, "layers": 2, "heads": 2, "kv_heads": 1, "head_dim": 4, "intermediate": 16}
    # per token per layer: q 8x8, k 8x4, v 8x4, o 8x8, mlp 3 x 8x16 -> 64+32+32+64+384 = 576 MACs
    length = 3
    attention = 2 * 2 * 8 * (1 + 2 + 3)  # QK^T and AV over 1, 2, 3 keys, q width 8
    want = 2 * (2 * 576 * length + attention)
    assert flops.forward_flops(shape, torch.tensor([length])) == pytest.approx(want)
    assert flops.learner_flops_per_forward(4, True) == 10.0
    peak, source = flops.device_peak(torch.device("cpu"))
    assert peak is None and "CPU" in source
    assert flops.device_peak(torch.device("cpu"), 1e12)[0] == 1e12


def test_a_forward_costs_fewer_tokens_on_a_cpu_the_larger_the_layers():
    from epymarl_llm.policy.buckets import FORWARD_OVERHEAD_TOKENS, MIN_OVERHEAD_TOKENS, forward_overhead_tokens

    smollm2_layer, small_layer, tiny_layer = 3_540_096, 787_072, 37_024
    assert forward_overhead_tokens("cpu", smollm2_layer) == 21
    assert forward_overhead_tokens("cpu", smollm2_layer) < forward_overhead_tokens("cpu", small_layer)
    assert forward_overhead_tokens("cpu", tiny_layer) <= FORWARD_OVERHEAD_TOKENS
    assert forward_overhead_tokens("cpu", 10**12) == MIN_OVERHEAD_TOKENS
    assert forward_overhead_tokens("cuda", smollm2_layer) == FORWARD_OVERHEAD_TOKENS  # launches dominate
    assert forward_overhead_tokens("cpu", None) == FORWARD_OVERHEAD_TOKENS
    # one 2s3z rollout step's suffix lengths (the bench's, seed 1): 8 forwards of 3,259 tokens, not 1 of 5,640
    lengths = torch.tensor(
        [37, 54, 79, 80, 88, 117, 142, 143, 146, 151, 174, 177, 180, 200, 207, 208, 212, 229, 248, 282]
    )
    cpu = length_buckets(lengths, 64, forward_overhead_tokens("cpu", smollm2_layer))
    gpu = length_buckets(lengths, 64, FORWARD_OVERHEAD_TOKENS)
    assert (len(cpu), padded_tokens(lengths, cpu)) == (8, 3259)
    assert (len(gpu), padded_tokens(lengths, gpu)) == (1, 5640)


def test_the_policy_buckets_with_its_own_layers_overhead(make_policy, step):
    tokens, _ = step
    policy = make_policy()
    tiny = policy.row_groups(tokens)
    policy._layer_weights = 3_540_096  # as large as a SmolLM2 layer
    large = policy.row_groups(tokens)
    assert sorted(torch.cat(large).tolist()) == list(range(len(tokens)))
    assert len(large) > len(tiny)


def test_gradient_forwards_price_the_prefix_they_compute_again(make_policy, step):
    from epymarl_llm.policy.buckets import forward_overhead_tokens, length_buckets

    tokens, _ = step
    policy = make_policy()
    policy._layer_weights = 3_540_096  # a SmolLM2 layer: 21 tokens a forward on a CPU
    assert tokens.prefix_len > 0
    suffixes = tokens.lengths - tokens.prefix_len
    rollout = policy.row_groups(tokens, 4)
    update = policy.row_groups(tokens, 4, with_grad=True)
    overhead = forward_overhead_tokens("cpu", 3_540_096)
    assert [g.tolist() for g in rollout] == [g.tolist() for g in length_buckets(suffixes, 4, overhead)]
    priced = length_buckets(suffixes, 4, overhead + tokens.prefix_len)
    assert [g.tolist() for g in update] == [g.tolist() for g in priced]
    assert len(update) < len(rollout), "the step's rows should bucket differently with the prefix priced"
    # without the prefix cache every row computes its prefix itself: nothing more to price
    plain = make_policy(prefix_cache=False)
    plain._layer_weights = 3_540_096
    assert [g.tolist() for g in plain.row_groups(tokens, 4, with_grad=True)] == [
        g.tolist() for g in plain.row_groups(tokens, 4)
    ]
