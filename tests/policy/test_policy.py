"""LlmPolicy: what trains, maps of any size, prefix cache, chunking, masking, bad inputs."""

import pytest
import torch

from epymarl_llm.policy import BatchError, TargetModulesError
from epymarl_llm.token_batch import TokenBatch
from tests.policy.helpers import build_batch, encoded_batch, perturb_lora, random_avail, smac_rows


def test_only_lora_and_head_parameters_train(make_policy):
    policy = make_policy()
    trainable = {n for n, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    assert any(n.startswith("head.") for n in trainable)
    trained, total = policy.parameter_counts()
    assert 0 < trained < total


def test_an_optimiser_step_changes_lora_and_head_and_not_the_backbone(make_policy):
    policy = make_policy()
    policy.train()
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    opt = torch.optim.Adam(policy.trainable_parameters(), lr=1e-2)
    batch = build_batch(policy.tokenizer, smac_rows(4, 5), 5)
    avail = random_avail(batch, 5)
    actions = avail.float().argmax(dim=1)
    loss = -policy(batch, avail).log_softmax(-1).gather(1, actions[:, None]).mean()
    loss.backward()
    opt.step()
    for name, p in policy.named_parameters():
        changed = not torch.equal(p.detach(), before[name])
        if "lora_B" in name or name.startswith("head."):
            assert changed, f"{name} should have trained"
        elif "lora_A" not in name:  # lora_A gets no gradient while lora_B is still zero
            assert not changed, f"frozen {name} changed"
    # a second step moves lora_A too, now that lora_B is non-zero
    opt.zero_grad()
    a_before = {n: p.detach().clone() for n, p in policy.named_parameters() if "lora_A" in n}
    (-policy(batch, avail).log_softmax(-1).gather(1, actions[:, None]).mean()).backward()
    opt.step()
    assert all(not torch.equal(p.detach(), a_before[n]) for n, p in policy.named_parameters() if "lora_A" in n)


@pytest.mark.parametrize("attack_keys", ["entity", "shared"])
def test_the_same_weights_run_maps_with_3_6_and_12_enemies(make_policy, attack_keys):
    policy = make_policy(attack_keys=attack_keys)
    perturb_lora(policy)
    for n_enemies in (3, 6, 12):
        batch = build_batch(policy.tokenizer, smac_rows(5, n_enemies, seed=n_enemies), n_enemies)
        avail = random_avail(batch, n_enemies, seed=n_enemies)
        logits = policy(batch, avail)
        assert logits.shape == (5, 6 + n_enemies) and logits.dtype == torch.float32
        assert (logits.softmax(-1)[~avail] == 0).all()


def test_one_policy_reads_real_prompts_of_3m_5m_vs_6m_and_MMM2(make_policy):
    # 3, 6 and 12 enemies; MMM2's Medivac rows have ally target slots (prompts section 3)
    policy = make_policy(prefix_cache=True)
    perturb_lora(policy)
    for map_name, n_targets in (("3m", 3), ("5m_vs_6m", 6), ("MMM2", 12)):
        batch, avail = encoded_batch(policy.tokenizer, map_name, rows=6, seed=n_targets)
        logits = policy(batch, avail)
        assert logits.shape == (6, 6 + n_targets)
        assert (logits.softmax(-1)[~avail] == 0).all() and torch.isfinite(logits).all()
        reference = policy.reference_logits(batch, avail)
        assert reference.shape == logits.shape and torch.isfinite(reference).all()
        assert (reference.softmax(-1)[~avail] == 0).all()
        assert not torch.allclose(reference, logits), "the reference runs with the adapter off"


def test_medivac_target_spans_are_allies_and_reach_the_head(make_policy):
    from epymarl_llm.prompts import load_map_layout

    medivac = load_map_layout("MMM2", env="sc2").ally_unit_names.index("Medivac")
    policy = make_policy()
    batch, avail = encoded_batch(policy.tokenizer, "MMM2", rows=4, seed=1, agent_id=medivac)
    spans = [(r, int(s), int(e)) for r in range(4) for s, e in batch.target_spans[r].tolist() if e > s]
    assert spans, "random observations should show some allies to heal"
    assert all("Ally" in policy.tokenizer.decode(batch.input_ids[r, s:e]) for r, s, e in spans)
    with torch.no_grad():
        policy.head.target_key.weight.normal_()
    shown = batch.target_spans[..., 1] > batch.target_spans[..., 0]
    logits = policy(batch, torch.ones_like(avail))[:, 6:]
    row = int(shown.sum(1).argmax())
    assert shown[row].sum() >= 2 and logits[row][shown[row]].unique().numel() == int(shown[row].sum())


def test_entity_keys_follow_the_target_spans_healer_slots_point_at_allies(make_policy):
    # A Medivac's target slots are allies: the prompt encoder points the spans at ally text.
    policy = make_policy()
    with torch.no_grad():
        policy.head.target_key.weight.normal_()
    rows = [
        [
            ("Self: Medivac, energy 50%.\n", None),
            ("Ally 0: Marine, health 20%.\n", 0),
            ("Ally 1: Marauder, health 90%.\n", 1),
        ]
    ]
    batch = build_batch(policy.tokenizer, rows, 2)
    swapped = TokenBatch(
        batch.input_ids,
        batch.attention_mask,
        batch.lengths,
        batch.prefix_len,
        batch.target_spans[:, [1, 0]],
        batch.pad_id,
    )
    avail = torch.ones(1, 8, dtype=torch.bool)
    logits, logits_swapped = policy(batch, avail), policy(swapped, avail)
    torch.testing.assert_close(logits[:, [7, 6]], logits_swapped[:, 6:])
    assert not torch.allclose(logits[:, 6], logits[:, 7])


def test_prefix_cache_gives_the_plain_paths_probabilities_and_gradients(make_policy):
    results = []
    for cache in (False, True):
        policy = make_policy(prefix_cache=cache)
        perturb_lora(policy, scale=0.1)
        batch = build_batch(policy.tokenizer, smac_rows(6, 5), 5)
        avail = random_avail(batch, 5)
        logp = policy(batch, avail).log_softmax(-1)
        logp[avail].sum().backward()
        grads = {n: p.grad for n, p in policy.named_parameters() if p.grad is not None}
        results.append((logp.detach(), policy.reference_logits(batch, avail), grads))
    (plain, ref_plain, g_plain), (cached, ref_cached, g_cached) = results
    torch.testing.assert_close(cached.exp(), plain.exp(), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ref_cached.softmax(-1), ref_plain.softmax(-1), atol=1e-5, rtol=1e-4)
    assert g_plain.keys() == g_cached.keys()
    for name in g_plain:
        torch.testing.assert_close(g_cached[name], g_plain[name], atol=1e-5, rtol=1e-3)


def test_prefix_cache_rejects_a_batch_whose_prefix_differs(make_policy):
    policy = make_policy(prefix_cache=True)
    batch = build_batch(policy.tokenizer, smac_rows(3, 2), 2)
    batch.input_ids[1, 0] = (batch.input_ids[1, 0] + 1) % 1000
    with pytest.raises(BatchError, match="prefix_len"):
        policy(batch, random_avail(batch, 2))


def test_forward_chunked_equals_one_forward_in_the_input_order(make_policy):
    policy = make_policy()
    perturb_lora(policy)
    batch = build_batch(policy.tokenizer, smac_rows(7, 4), 4)
    avail = random_avail(batch, 4)
    with torch.no_grad():
        whole, ref = policy(batch, avail), policy.reference_logits(batch, avail)
        torch.testing.assert_close(policy.forward_chunked(batch, avail, max_rows=3), whole, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        policy.forward_chunked(batch, avail, reference=True, max_rows=2), ref, atol=1e-5, rtol=1e-5
    )
    groups = policy.row_groups(batch, max_rows=3)
    assert all(len(g) <= 3 for g in groups)
    assert sorted(torch.cat(groups).tolist()) == list(range(len(batch)))  # every row exactly once


def _bad(batch, **changes):
    fields = dict(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        lengths=batch.lengths,
        prefix_len=batch.prefix_len,
        target_spans=batch.target_spans,
        pad_id=batch.pad_id,
    )
    return TokenBatch(**{**fields, **changes})


def test_bad_inputs_give_clear_errors(make_policy):
    policy = make_policy()
    batch = build_batch(policy.tokenizer, smac_rows(3, 4), 4)
    avail = random_avail(batch, 4)
    cases = [
        (batch, avail[:, :8], "were the prompts built for another map"),
        (batch, avail[:2], "avail must be (M=3"),
        (batch, torch.zeros_like(avail), "no available action"),
        (batch, avail.float(), "bool or 0/1 integers"),
        (batch, avail.long() * 2, "bool or 0/1 integers"),
        (_bad(batch, lengths=batch.lengths + 1), avail, "lengths"),
        (_bad(batch, prefix_len=10_000), avail, "prefix_len"),
        (_bad(batch, target_spans=batch.target_spans.flip(-1) + 1), avail, "[start, end)"),
        ({"input_ids": batch.input_ids}, avail, "expected a TokenBatch"),
    ]
    for bad_batch, bad_avail, words in cases:
        with pytest.raises(BatchError) as err:
            policy(bad_batch, bad_avail)
        assert words in str(err.value), (words, str(err.value))
    # 0/1 integer availability (EPyMARL's avail_actions) is accepted as is
    torch.testing.assert_close(policy(batch, avail.long()), policy(batch, avail))


def test_lora_target_modules_that_match_nothing_are_an_error(make_policy):
    with pytest.raises(TargetModulesError, match="c_attn"):
        make_policy(lora_target_modules=["c_attn"])
    with pytest.raises(TargetModulesError, match=r"\['q_prj'\]"):  # one typo among good names
        make_policy(lora_target_modules=["q_proj", "q_prj"])
    with pytest.raises(TargetModulesError):
        make_policy(lora_target_modules="^nothing_matches$")


@pytest.mark.parametrize("model_dir", ["tiny", "llama-tiny"], indirect=True)
def test_lora_targets_default_to_every_linear_layer_of_qwen3_and_llama(make_policy):
    policy = make_policy()
    names = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert set(policy.model.peft_config["default"].target_modules) == names
    adapted = {
        (n.split("layers.")[1].split(".")[0], n.split(".lora_A")[0].rsplit(".", 1)[-1])
        for n, _ in policy.model.named_parameters()
        if "lora_A" in n
    }
    assert adapted == {(str(i), name) for i in range(2) for name in names}  # in every layer of both families
