"""Checkpoints: only LoRA + head, exact reload, any map, clear errors for other architectures."""

import json

import pytest
import torch

from epymarl_llm.policy import CheckpointError
from tests.policy.helpers import build_batch, perturb_lora, random_avail, smac_rows


def _trained(make_policy, **overrides):
    policy = make_policy(**overrides)
    perturb_lora(policy)
    with torch.no_grad():
        for p in policy.head.parameters():
            p.add_(torch.randn_like(p) * 0.3)  # the entity key projection starts at zero
    return policy


def test_save_then_load_reproduces_the_logits_exactly_on_another_map(make_policy, tmp_path):
    source = _trained(make_policy)
    source.save_trainable(tmp_path / "ckpt")
    target = make_policy(seed=99)  # fresh LoRA/head initialisation
    target.load_trainable(tmp_path / "ckpt")
    for n_enemies in (3, 12):  # trained on one map, evaluated on others (zero-shot transfer)
        batch = build_batch(source.tokenizer, smac_rows(4, n_enemies), n_enemies)
        avail = random_avail(batch, n_enemies)
        with torch.no_grad():
            torch.testing.assert_close(target(batch, avail), source(batch, avail), atol=0, rtol=0)
            torch.testing.assert_close(
                target.reference_logits(batch, avail), source.reference_logits(batch, avail), atol=0, rtol=0
            )


def test_checkpoint_holds_only_what_trains(make_policy, tiny_model_dir, tmp_path):
    policy = _trained(make_policy)
    folder = policy.save_trainable(tmp_path / "ckpt")
    names = sorted(p.name for p in folder.iterdir())
    # peft writes its adapter files and a model card; we add the head and the architecture facts
    assert names == [
        "README.md",
        "action_head.safetensors",
        "adapter_config.json",
        "adapter_model.safetensors",
        "policy_meta.json",
    ]
    tensor_bytes = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    trained, total = policy.parameter_counts()
    assert tensor_bytes < 4 * trained + 64_000  # float32 trained parameters plus headers
    backbone_bytes = sum(p.stat().st_size for p in tiny_model_dir.glob("*.safetensors"))
    assert tensor_bytes < backbone_bytes / 2


def test_the_adapter_is_in_peft_format(make_policy, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModel

    from epymarl_llm.policy.backbone import body_hidden

    policy = _trained(make_policy)
    policy.save_trainable(tmp_path / "ckpt")
    peft_model = PeftModel.from_pretrained(AutoModel.from_pretrained(tiny_model_dir), tmp_path / "ckpt").eval()
    batch = build_batch(policy.tokenizer, smac_rows(2, 3), 3)
    with torch.no_grad():
        expected = body_hidden(peft_model, batch.input_ids, batch.attention_mask)[torch.arange(2), batch.lengths - 1]
        torch.testing.assert_close(policy.hidden(batch), expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"action_dim": 16}, "action_dim: checkpoint 32 vs policy 16 (set action_dim)"),
        ({"attack_keys": "shared"}, "attack_keys: checkpoint 'entity' vs policy 'shared'"),
        ({"head_input_norm": "rms"}, "head_input_norm: checkpoint 'none' vs policy 'rms' (set head_input_norm)"),
        ({"lora_rank": 4}, "lora_rank: checkpoint 8 vs policy 4"),
        ({"lora_alpha": 32.0}, "lora_alpha: checkpoint 16.0 vs policy 32.0 (set lora_alpha)"),
        ({"lora_target_modules": ["q_proj", "v_proj"]}, "lora_target_modules"),
    ],
)
def test_loading_into_another_head_width_or_lora_shape_is_a_clear_error(make_policy, tmp_path, overrides, words):
    make_policy().save_trainable(tmp_path / "ckpt")
    with pytest.raises(CheckpointError) as err:
        make_policy(**overrides).load_trainable(tmp_path / "ckpt")
    assert words in str(err.value)


def test_loading_a_checkpoint_of_another_backbone_is_a_clear_error(make_policy, tmp_path):
    folder = make_policy().save_trainable(tmp_path / "ckpt")
    meta = json.loads((folder / "policy_meta.json").read_text())
    meta["facts"]["hidden_size"] = 1024
    meta["facts"]["num_hidden_layers"] = 28
    meta["llm_model"] = "Qwen/Qwen3-0.6B"
    (folder / "policy_meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError) as err:
        make_policy().load_trainable(folder)
    assert "hidden_size: checkpoint 1024 vs policy 64 (set llm_model)" in str(err.value)
    assert "Qwen/Qwen3-0.6B" in str(err.value)


def test_a_checkpoint_with_alpha_beside_the_facts_is_checked_too(make_policy, tmp_path):
    """Checkpoints whose policy_meta.json holds lora_alpha outside "facts" are held to it as well."""
    folder = make_policy().save_trainable(tmp_path / "ckpt")
    meta = json.loads((folder / "policy_meta.json").read_text())
    del meta["facts"]["lora_alpha"]
    (folder / "policy_meta.json").write_text(json.dumps(meta))
    make_policy().load_trainable(folder)
    with pytest.raises(CheckpointError, match="lora_alpha: checkpoint 16.0 vs policy 8.0"):
        make_policy(lora_alpha=8.0).load_trainable(folder)


def test_a_folder_without_a_checkpoint_is_a_clear_error(make_policy, tmp_path):
    with pytest.raises(CheckpointError, match="save_trainable"):
        make_policy().load_trainable(tmp_path)


def test_a_checkpoint_of_a_qwen3_body_is_refused_by_a_llama_body_of_the_same_size(
    make_policy, llama_tiny_model_dir, tmp_path
):
    from epymarl_llm.policy import LlmPolicy, PolicyConfig

    folder = make_policy().save_trainable(tmp_path / "ckpt")
    llama = LlmPolicy(PolicyConfig(llm_model=str(llama_tiny_model_dir), action_dim=32))
    with pytest.raises(CheckpointError) as err:
        llama.load_trainable(folder)
    assert "model_type: checkpoint 'qwen3' vs policy 'llama' (set llm_model)" in str(err.value)
    assert "hidden_size" not in str(err.value)  # the same shape: the family alone tells them apart


def test_a_checkpoint_of_another_model_of_the_family_is_refused_by_its_shape(make_policy, tmp_path):
    folder = make_policy().save_trainable(tmp_path / "ckpt")
    meta = json.loads((folder / "policy_meta.json").read_text())
    meta["llm_model"] = "smollm2-135m"
    meta["facts"].update(num_attention_heads=9, num_key_value_heads=3, intermediate_size=1536, vocab_size=49152)
    (folder / "policy_meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError) as err:
        make_policy().load_trainable(folder)
    message = str(err.value)
    assert "trained with llm_model='smollm2-135m'" in message
    assert "intermediate_size: checkpoint 1536 vs policy 128 (set llm_model)" in message
    assert "vocab_size: checkpoint 49152 vs policy 1024" in message


def test_a_checkpoint_written_before_the_shape_facts_still_loads(make_policy, tmp_path):
    folder = make_policy().save_trainable(tmp_path / "ckpt")
    meta = json.loads((folder / "policy_meta.json").read_text())
    for key in ("num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size"):
        del meta["facts"][key]
    (folder / "policy_meta.json").write_text(json.dumps(meta))
    make_policy().load_trainable(folder)


def test_a_checkpoint_written_before_the_head_input_norm_is_the_paper_head(make_policy, tmp_path):
    folder = make_policy().save_trainable(tmp_path / "ckpt")
    meta = json.loads((folder / "policy_meta.json").read_text())
    del meta["facts"]["head_input_norm"]
    (folder / "policy_meta.json").write_text(json.dumps(meta))
    make_policy().load_trainable(folder)
    with pytest.raises(CheckpointError, match="head_input_norm: checkpoint 'none' vs policy 'rms'"):
        make_policy(head_input_norm="rms").load_trainable(folder)


@pytest.mark.parametrize("name", ["adapter_model.safetensors", "action_head.safetensors"])
def test_a_truncated_checkpoint_file_is_named_with_the_other_steps(make_policy, tmp_path, name):
    policy = _trained(make_policy)
    run = tmp_path / "models" / "lolm_mappo_seed1_3s5z"
    for step in ("100", "200"):
        policy.save_trainable(run / step)
    damaged = run / "200" / name
    damaged.write_bytes(damaged.read_bytes()[:5])  # an interrupted save
    with pytest.raises(CheckpointError) as err:
        make_policy(seed=3).load_trainable(run / "200")
    first, last = str(err.value).splitlines()
    assert first.startswith(f"{damaged} cannot be read (") and "truncated or damaged" in first
    assert (
        last
        == f"Load another saved step: checkpoint_path={str(run)!r} load_step=N with N one of 100; or save this step again."
    )
    assert err.value.__cause__ is None and err.value.__context__ is None


def test_a_truncated_learner_file_is_named_too(tmp_path):
    from epymarl_llm.policy.checkpoint_files import read_checkpoint_file

    path = tmp_path / "critic.th"
    torch.save({"w": torch.ones(64)}, path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CheckpointError, match=r"critic.th cannot be read \(RuntimeError: .*truncated or damaged"):
        read_checkpoint_file(path, lambda file: torch.load(file, weights_only=False))
    assert read_checkpoint_file(path.with_name("fine.th"), lambda file: 7) == 7


def test_identical_runs_write_byte_identical_adapter_files(tiny_model_dir, tmp_path):
    """Two interpreters with other string hash seeds: peft's set of target modules iterates in
    another order in each, and the saved files must not show it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    script = (
        "import sys, torch; from epymarl_llm.policy import LlmPolicy, PolicyConfig; torch.manual_seed(0); "
        "LlmPolicy(PolicyConfig(llm_model=sys.argv[1], action_dim=32, llm_dtype='float32')).save_trainable(sys.argv[2])"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(repo)}
        subprocess.run(
            [sys.executable, "-c", script, str(tiny_model_dir), str(tmp_path / seed)], env=env, check=True, timeout=300
        )
    for name in ("adapter_config.json", "adapter_model.safetensors", "action_head.safetensors", "policy_meta.json"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name
    modules = json.loads((tmp_path / "1" / "adapter_config.json").read_text())["target_modules"]
    assert modules == sorted(modules) and len(modules) == 7
