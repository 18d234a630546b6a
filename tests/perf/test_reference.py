"""The reference implementation computes the same policy as the fast path (so the speed-up is honest)."""

import dataclasses

import pytest
import torch

from epymarl_llm_tools.bench.reference import ReferencePolicy, ReferenceSwitches, reference_encoder


@pytest.mark.parametrize(
    "switches", [ReferenceSwitches(), ReferenceSwitches(False, False, False)], ids=["straightforward", "all-replaced"]
)
def test_reference_probabilities_equal_the_fast_path(make_policy, tiny_model_dir, switches):
    from epymarl_llm.prompts import load_map_layout, random_observations

    policy = make_policy()
    reference = ReferencePolicy(policy, switches).eval()
    layout = load_map_layout("3s5z_vs_3s6z", env="sc2")
    obs, avail, ids = random_observations(layout, 10, seed=5)
    avail[:, 1] = 1
    fast_tokens = (
        __import__("epymarl_llm.prompts", fromlist=["PromptEncoder"])
        .PromptEncoder(layout, policy.tokenizer)
        .encode(obs, avail, ids)
    )
    ref_encoder = reference_encoder(layout, reference.tokenizer, switches)
    assert ref_encoder.fast is not switches.text_tokenization
    ref_tokens = ref_encoder.encode(obs, avail, ids)
    assert torch.equal(ref_tokens.input_ids, fast_tokens.input_ids)  # text tokenization gives the same ids
    assert torch.equal(ref_tokens.target_spans, fast_tokens.target_spans)
    mask = torch.as_tensor(avail) != 0
    with torch.no_grad():
        torch.testing.assert_close(
            reference(ref_tokens, mask).softmax(-1),
            policy.forward_chunked(fast_tokens, mask).softmax(-1),
            atol=2e-6,
            rtol=1e-4,
        )
        torch.testing.assert_close(
            reference.reference_logits(ref_tokens, mask).softmax(-1),
            policy.forward_chunked(fast_tokens, mask, reference=True).softmax(-1),
            atol=2e-6,
            rtol=1e-4,
        )


def test_the_old_policy_deepcopy_leaves_the_second_copy_shared(make_policy):
    import copy

    reference = ReferencePolicy(make_policy())
    old = copy.deepcopy(reference)
    assert old._frozen[0] is reference._frozen[0]
    assert all(not p.requires_grad for p in reference._frozen[0].parameters())
    assert {n for n, p in reference.named_parameters() if p.requires_grad} == {
        n for n, p in old.named_parameters() if p.requires_grad
    }
    assert dataclasses.asdict(reference.switches) == dataclasses.asdict(ReferenceSwitches())
