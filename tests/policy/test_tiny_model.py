"""`epymarl-llm make-tiny-model`: loadable offline, Qwen-like tokenizer trained on SMAC prompts."""

import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from epymarl_llm.policy import LlmPolicy, PolicyConfig
from epymarl_llm.policy.tiny_model import smac_corpus, train_tokenizer
from epymarl_llm_tools import cli
from tests.policy.helpers import build_batch, random_avail, smac_rows


def test_command_writes_a_folder_that_from_pretrained_loads(tmp_path, capsys):
    assert cli.main(["make-tiny-model", str(tmp_path / "m"), "--tokenizer-vocab-size", "600"]) == 0
    assert "use it with `with llm_model=" in capsys.readouterr().out
    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model_type"] == "qwen3" and config["hidden_size"] == 64 and config["num_hidden_layers"] == 2
    assert 256 + 3 < len(tok) <= 600 and tok.pad_token == tok.eos_token == "<|endoftext|>"
    ids = tok("attack enemy 12", return_tensors="pt")["input_ids"]
    assert model(ids).logits.shape == (1, ids.shape[1], config["vocab_size"])


def test_tokenizer_splits_every_digit_like_qwen(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokens = tok.tokenize("distance 0.53, health 100%")
    assert [t for t in tokens if any(c.isdigit() for c in t)] == ["0", "5", "3", "1", "0", "0"]
    assert tok.decode(tok("Enemy 3: Zealot, health 7%.")["input_ids"]) == "Enemy 3: Zealot, health 7%."


def test_tokenizer_is_trained_on_smac_prompts():
    corpus = smac_corpus(n_per_map=5)
    assert len(corpus) >= 5 and all(isinstance(t, str) and t for t in corpus)
    tok = train_tokenizer(corpus, vocab_size=800)
    # frequent SMAC words become single tokens; an unrelated word does not
    assert len(tok.tokenize(" enemy")) == 1 and len(tok.tokenize(" photosynthesis")) > 2


def test_config_only_folder_runs_as_a_random_init_policy(tmp_path):
    assert cli.main(["make-tiny-model", str(tmp_path / "m"), "--no-weights"]) == 0
    assert not list((tmp_path / "m").glob("*.safetensors"))
    policy = LlmPolicy(
        PolicyConfig(llm_model=str(tmp_path / "m"), llm_init="random", action_dim=16, llm_dtype="float32")
    )
    batch = build_batch(policy.tokenizer, smac_rows(2, 3), 3)
    assert torch.isfinite(policy(batch, random_avail(batch, 3))).all()


def test_bad_vocabulary_size_is_refused(tmp_path, capsys):
    assert cli.main(["make-tiny-model", str(tmp_path / "m"), "--tokenizer-vocab-size", "100"]) == 2
    assert "--tokenizer-vocab-size must be in" in capsys.readouterr().out
