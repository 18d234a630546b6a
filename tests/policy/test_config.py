"""PolicyConfig: defaults, validation messages, reading EPyMARL's flat args."""

import subprocess
import sys

import pytest

from epymarl_llm.policy import PolicyConfig, PolicyConfigError


def test_defaults_follow_the_paper_and_perf_notes():
    cfg = PolicyConfig()
    assert cfg.llm_model == "Qwen/Qwen3-0.6B"
    assert cfg.action_dim == 1024  # paper: d_a = hidden size of Qwen3-0.6B
    assert cfg.lora_dropout == 0.0  # identical forwards -> PPO's first ratio is exactly 1
    assert cfg.attack_keys == "entity" and cfg.llm_init == "pretrained" and cfg.llm_dtype == "auto"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("llm_init", "scratch", "pretrained, random"),
        ("llm_dtype", "fp8", "auto, float32"),
        ("attack_keys", "unique", "entity, shared"),
        ("head_input_norm", "layer", "none, rms"),
        ("lora_rank", 0, "positive integer"),
        ("action_dim", 12.5, "positive integer"),
        ("lora_alpha", -1, "positive number"),
        ("lora_dropout", 1.0, "set lora_dropout=0"),
        ("lora_dropout", 0.1, "TRL"),
        ("lora_target_modules", [], "list of module names"),
        ("lora_target_modules", "", "family default"),
        ("gradient_checkpointing", "yes", "true or false"),
        ("device", "gpu", "'cuda:N'"),
        ("llm_model", "", "local folder"),
        ("llm_attn_implementation", "", "sdpa"),
    ],
)
def test_invalid_values_name_the_fix(key, value, words):
    with pytest.raises(PolicyConfigError) as err:
        PolicyConfig(**{key: value})
    assert key in str(err.value) and words in str(err.value)


def test_target_modules_list_becomes_a_tuple():
    assert PolicyConfig(lora_target_modules=["q_proj", "v_proj"]).lora_target_modules == ("q_proj", "v_proj")


def test_config_and_errors_import_without_torch():
    code = "import sys; from epymarl_llm.policy import PolicyConfig, ModelLoadError; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
