"""Backbone: last real token's state, padding sides, reference = base model, loading errors."""

import pytest
import torch
from transformers import AutoModel

from epymarl_llm.policy import ModelLoadError, PolicyConfig
from epymarl_llm.policy.backbone import body_hidden, last_token_index, pool_spans, resolve_dtype
from tests.policy.helpers import build_batch, perturb_lora, random_avail, smac_rows


def test_last_token_index_handles_left_and_right_padding():
    right = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]])
    assert last_token_index(right).tolist() == [2, 3]
    assert last_token_index(left).tolist() == [3, 3]


def test_hidden_equals_each_prompt_run_alone_with_either_padding(tiny_model_dir, make_policy):
    policy = make_policy()
    tok = policy.tokenizer
    texts = ["Enemy 0: Zealot, distance 3.", "Self: Stalker, health 100%. Enemy 1: Zealot, distance 12, health 7%."]
    alone = [
        body_hidden(policy.model, *(lambda e: (e["input_ids"], e["attention_mask"]))(tok(t, return_tensors="pt")))[
            0, -1
        ]
        for t in texts
    ]
    for side in ("right", "left"):
        enc = tok(texts, return_tensors="pt", padding=True, padding_side=side)
        states = body_hidden(policy.model, enc["input_ids"], enc["attention_mask"])
        last = states[torch.arange(2), last_token_index(enc["attention_mask"])]
        for r in range(2):
            torch.testing.assert_close(last[r], alone[r], atol=1e-5, rtol=1e-5)


def test_adapter_off_equals_the_base_model_and_adapter_on_does_not(tiny_model_dir, make_policy):
    policy = make_policy(prefix_cache=False)  # bit-exact against the plain body path (tests/perf: the cache)
    perturb_lora(policy)  # trained-looking adapter: otherwise LoRA-on equals base trivially
    batch = build_batch(policy.tokenizer, smac_rows(4, 5), 5)
    base = AutoModel.from_pretrained(tiny_model_dir).eval()
    with torch.no_grad():
        expected = body_hidden(base, batch.input_ids, batch.attention_mask)[torch.arange(4), batch.lengths - 1]
        with policy.model.disable_adapter():
            off = policy.hidden(batch)
        on = policy.hidden(batch)
    torch.testing.assert_close(off, expected, atol=0, rtol=0)
    assert not torch.allclose(on, expected, atol=1e-3)


def test_reference_logits_use_the_base_model_through_the_same_head(make_policy):
    policy = make_policy()
    perturb_lora(policy)
    batch = build_batch(policy.tokenizer, smac_rows(3, 4), 4)
    avail = random_avail(batch, 4)
    ref = policy.reference_logits(batch, avail)
    with torch.no_grad():
        on = policy(batch, avail)
        for _, p in policy.model.named_parameters():
            if "lora_B" in _:
                p.zero_()  # LoRA B = 0 is the adapter's identity: exactly the base model
        zeroed = policy(batch, avail)
    torch.testing.assert_close(ref, zeroed, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(ref, on)
    assert not ref.requires_grad
    # the adapter is active again, and trainable, after the reference pass
    assert all(p.requires_grad for n, p in policy.model.named_parameters() if "lora_" in n)


def test_reference_pass_restores_the_adapter_after_an_error(make_policy):
    policy = make_policy()
    perturb_lora(policy)
    batch = build_batch(policy.tokenizer, smac_rows(2, 3), 3)
    avail = random_avail(batch, 3)
    before = policy(batch, avail).detach()
    from epymarl_llm.policy import BatchError

    with pytest.raises(BatchError):  # raised inside the adapter-disabled block
        policy.reference_logits(batch, torch.zeros_like(avail))
    assert all(p.requires_grad for n, p in policy.model.named_parameters() if "lora_" in n)
    torch.testing.assert_close(policy(batch, avail).detach(), before, atol=0, rtol=0)


def test_pool_spans_means_each_span_and_zero_for_absent_targets():
    hidden = torch.arange(12, dtype=torch.float32).reshape(1, 4, 3)
    spans = torch.tensor([[[1, 3], [0, 0]]])
    pooled = pool_spans(hidden, spans)
    torch.testing.assert_close(pooled[0, 0], hidden[0, 1:3].mean(0))
    assert pooled[0, 1].abs().sum() == 0


def test_dtype_auto_is_float32_on_an_avx2_cpu_and_bfloat16_body_keeps_float32_lora_head_and_logits(make_policy):
    assert resolve_dtype("auto", torch.device("cpu"), cpuinfo="flags : avx2", layer_weights=10**7) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    policy = make_policy(llm_dtype="bfloat16")
    body = [p.dtype for n, p in policy.model.named_parameters() if "lora_" not in n]
    lora = [p.dtype for n, p in policy.model.named_parameters() if "lora_" in n]
    assert set(body) == {torch.bfloat16} and set(lora) == {torch.float32}
    batch = build_batch(policy.tokenizer, smac_rows(2, 3), 3)
    assert policy(batch, random_avail(batch, 3)).dtype == torch.float32


def test_random_init_has_the_same_architecture_and_other_weights(make_policy):
    pre, rnd = make_policy(), make_policy(llm_init="random", seed=123)

    def shapes(p):
        return {n: t.shape for n, t in p.model.named_parameters()}

    assert shapes(pre) == shapes(rnd)
    w = "base_model.model.layers.0.mlp.down_proj.base_layer.weight"
    assert not torch.equal(dict(pre.model.named_parameters())[w], dict(rnd.model.named_parameters())[w])


def test_gradient_checkpointing_gives_the_same_lora_gradients(make_policy):
    grads = []
    for ckpt in (False, True):
        policy = make_policy(gradient_checkpointing=ckpt)
        perturb_lora(policy, scale=0.1)
        policy.train()
        batch = build_batch(policy.tokenizer, smac_rows(3, 4), 4)
        policy(batch, random_avail(batch, 4)).log_softmax(-1)[:, 1].sum().backward()
        grads.append({n: p.grad.clone() for n, p in policy.model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], atol=1e-6, rtol=1e-4)


def test_missing_local_folder_says_how_to_point_at_one(tmp_path):
    from epymarl_llm.policy import LlmPolicy

    with pytest.raises(ModelLoadError) as err:
        LlmPolicy(PolicyConfig(llm_model=str(tmp_path / "nope")))
    assert "llm_model=DIR" in str(err.value) and "make-tiny-model" in str(err.value)


def test_uncached_hub_name_offline_is_a_clear_error(monkeypatch):
    import huggingface_hub.constants as hub

    from epymarl_llm.policy import LlmPolicy

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError) as err:
        LlmPolicy(PolicyConfig(llm_model="no-such-org/no-such-model-0"))
    assert "no-such-org/no-such-model-0" in str(err.value) and "--local-dir DIR" in str(err.value)


def test_a_local_folder_that_is_no_model_gets_a_fix_for_a_folder(tmp_path):
    """Not `hf download <the local path>`: the hint names what the folder must hold."""
    from epymarl_llm.policy import LlmPolicy

    folder = tmp_path / "my model"
    folder.mkdir()
    with pytest.raises(ModelLoadError) as err:
        LlmPolicy(PolicyConfig(llm_model=str(folder)))
    last = str(err.value).splitlines()[-1]
    assert f"hf download {folder}" not in str(err.value)
    assert last.startswith(f"llm_model={folder} is a folder: it must hold a Hugging Face causal language model")
    assert f"--local-dir '{folder}'" in last and f"make-tiny-model '{folder}'" in last


def test_an_encoder_model_is_refused_at_load_naming_a_causal_decoder(tiny_model_dir, tmp_path):
    import shutil

    from transformers import BertConfig, BertModel

    from epymarl_llm.policy import LlmPolicy

    bert = tmp_path / "bert"
    BertModel(
        BertConfig(vocab_size=1024, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    ).save_pretrained(bert)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_model_dir / name, bert / name)
    with pytest.raises(ModelLoadError) as err:
        LlmPolicy(PolicyConfig(llm_model=str(bert), llm_dtype="float32"))
    message = str(err.value)
    assert f"llm_model={str(bert)!r} is a BertModel (model_type 'bert'), not a causal decoder" in message
    assert message.splitlines()[-1].startswith("Set llm_model to a causal language model")
