"""Attention action head: shapes for any number of targets, shared vs entity keys, masking."""

import pytest
import torch

from epymarl_llm.policy.head import MASKED_LOGIT, AttentionActionHead, mask_logits


@pytest.mark.parametrize("n_targets", [0, 3, 6, 12])
def test_one_head_scores_any_number_of_targets(n_targets):
    head = AttentionActionHead(hidden_size=16, action_dim=8, attack_keys="entity")
    h, feats = torch.randn(5, 16), torch.randn(5, n_targets, 16)
    assert head(h, n_targets, feats).shape == (5, 6 + n_targets)


def test_shared_keys_give_every_target_the_same_logit():
    head = AttentionActionHead(16, 8, attack_keys="shared")
    logits = head(torch.randn(4, 16), 7)
    assert torch.allclose(logits[:, 6:], logits[:, 6:7].expand(-1, 7))
    assert not any(name.startswith("target_key") for name, _ in head.named_parameters())


def test_entity_keys_start_as_the_paper_head_and_then_tell_targets_apart():
    torch.manual_seed(0)
    entity = AttentionActionHead(16, 8, attack_keys="entity")
    shared = AttentionActionHead(16, 8, attack_keys="shared")
    shared.load_state_dict({k: v for k, v in entity.state_dict().items() if not k.startswith("target_key")})
    h, feats = torch.randn(4, 16), torch.randn(4, 5, 16)
    torch.testing.assert_close(entity(h, 5, feats), shared(h, 5))
    with torch.no_grad():
        entity.target_key.weight.normal_()
    attack = entity(h, 5, feats)[:, 6:]
    assert (attack.max(dim=1).values - attack.min(dim=1).values > 1e-3).all()


def test_logits_are_scaled_dot_products_of_query_and_keys():
    head = AttentionActionHead(4, 2, attack_keys="shared")
    with torch.no_grad():
        head.query.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        head.query.bias.zero_()
        head.base_keys.copy_(torch.arange(12.0).reshape(6, 2))
        head.attack_key.copy_(torch.tensor([1.0, -1.0]))
    h = torch.tensor([[2.0, 3.0, 9.0, 9.0]])
    expected = torch.tensor([[2 * k0 + 3 * k1 for k0, k1 in torch.arange(12.0).reshape(6, 2).tolist()] + [-1.0, -1.0]])
    torch.testing.assert_close(head(h, 2), expected / 2**0.5)


def test_entity_head_needs_target_features():
    head = AttentionActionHead(16, 8, attack_keys="entity")
    with pytest.raises(ValueError, match="target_features"):
        head(torch.randn(2, 16), 3)


def test_masking_never_gives_probability_to_an_unavailable_action():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2000, 18, generator=g) * 30  # large logits: the mask must still win
    avail = torch.rand(2000, 18, generator=g) < 0.3
    avail[torch.arange(2000), torch.randint(0, 18, (2000,), generator=g)] = True
    masked = mask_logits(logits, avail)
    probs = masked.softmax(-1)
    assert (probs[~avail] == 0).all()
    torch.testing.assert_close(probs.sum(-1), torch.ones(2000))
    logp = masked.log_softmax(-1)
    assert torch.isfinite(logp).all() and torch.isfinite((probs * logp).sum(-1)).all()  # entropy has no nan
    assert (masked[~avail] == MASKED_LOGIT).all()


def test_the_initialisation_is_the_one_method_md_states(make_policy):
    """docs/METHOD.md section 4: keys N(0, 0.02^2), query at nn.Linear's default, target_key zero, LoRA B
    zero, and logits near zero (a nearly uniform policy)."""
    from pathlib import Path

    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "METHOD.md").read_text().split())
    for claim in ("N(0, 0.02^2)", "PyTorch's default `nn.Linear` initialisation", "`target_key`) is zero"):
        assert claim in text, f"METHOD.md no longer states {claim!r}"

    torch.manual_seed(0)
    head = AttentionActionHead(hidden_size=512, action_dim=1024, attack_keys="entity")
    keys = torch.cat([head.base_keys.detach().flatten(), head.attack_key.detach()])
    assert abs(float(keys.std()) - 0.02) < 0.001 and abs(float(keys.mean())) < 0.001
    assert not head.target_key.weight.any()
    bound = 1 / 512**0.5  # nn.Linear's default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)), bias alike
    for tensor in (head.query.weight, head.query.bias):
        assert float(tensor.abs().max()) <= bound and float(tensor.abs().max()) > 0.9 * bound

    policy = make_policy(llm_dtype="float32")
    assert all(not p.any() for n, p in policy.named_parameters() if "lora_B" in n)
    from tests.policy.helpers import encoded_batch

    tokens, avail = encoded_batch(policy.tokenizer, "3s5z", rows=8)
    with torch.no_grad():
        logits = policy(tokens, avail)
    live = logits[avail]
    assert float(live.abs().max()) < 0.1, "the untrained head is nearly uniform"


@pytest.mark.parametrize("attack_keys", ["entity", "shared"])
def test_an_rms_head_reads_states_of_any_scale_alike(attack_keys):
    torch.manual_seed(0)
    head = AttentionActionHead(16, 8, attack_keys=attack_keys, input_norm="rms")
    with torch.no_grad():
        if head.target_key is not None:
            head.target_key.weight.normal_()
    h, feats = torch.randn(4, 16), torch.randn(4, 3, 16)
    scale = torch.tensor([[0.5], [2.0], [7.0], [40.0]])
    torch.testing.assert_close(head(h * scale, 3, feats * scale.unsqueeze(-1)), head(h, 3, feats))


def test_the_paper_head_reads_states_as_they_are():
    torch.manual_seed(0)
    plain = AttentionActionHead(16, 8, attack_keys="entity")
    h, feats = torch.randn(4, 16), torch.randn(4, 3, 16)
    assert not torch.allclose(plain(h * 3, 3, feats * 3), plain(h, 3, feats))
    rms = AttentionActionHead(16, 8, attack_keys="entity", input_norm="rms")
    rms.load_state_dict(plain.state_dict())
    unit = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)
    unit_feats = feats * torch.rsqrt(feats.pow(2).mean(-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(rms(h, 3, feats), plain(unit, 3, unit_feats))


def test_an_unknown_head_input_norm_is_refused():
    with pytest.raises(ValueError, match="input_norm must be one of none, rms; got 'layer'"):
        AttentionActionHead(16, 8, input_norm="layer")
