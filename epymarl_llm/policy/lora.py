"""LoRA on the frozen body through peft (METHOD section 4): family defaults and a loud no-match."""

from __future__ import annotations

import warnings

import torch

# First: a broken torchvision then fails here with the fix, not deep inside transformers.
from epymarl_llm.policy import transformers_guard  # noqa: F401

# isort: split
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import PreTrainedModel

from epymarl_llm.policy.config import PolicyConfig
from epymarl_llm.policy.errors import TargetModulesError

_LLAMA_LIKE = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# Every linear layer of attention and MLP (the QLoRA finding: adapting all of them matters more than
# the rank). Keyed by `config.model_type`.
FAMILY_TARGET_MODULES: dict[str, tuple[str, ...]] = {
    **{
        t: _LLAMA_LIKE
        for t in ("qwen3", "qwen2", "llama", "mistral", "gemma", "gemma2", "gemma3_text", "olmo2", "smollm3")
    },
    "qwen3_moe": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "phi3": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    "phi": ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"),
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "gpt_neox": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "falcon": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "opt": ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"),
}


def default_target_modules(model_type: str) -> tuple[str, ...] | str:
    """The family's module names; peft's "all-linear" for families not listed here."""
    return FAMILY_TARGET_MODULES.get(model_type, "all-linear")


def apply_lora(model: PreTrainedModel, cfg: PolicyConfig) -> PeftModel:
    """Wrap the frozen body with a trainable LoRA adapter named "default".

    Raises:
        TargetModulesError: some requested module name matches no layer of the body.
    """
    targets = cfg.lora_target_modules or default_target_modules(model.config.model_type)
    if isinstance(targets, tuple):
        _check_targets_exist(model, targets)
    n_layers = int(model.config.num_hidden_layers)
    if cfg.lora_layers != "all" and cfg.lora_layers > n_layers:
        raise TargetModulesError(
            f"lora_layers={cfg.lora_layers} but {model.config.model_type!r} has {n_layers} "
            f"layers: set lora_layers to at most {n_layers}, or 'all'"
        )
    top = None if cfg.lora_layers == "all" else list(range(n_layers - cfg.lora_layers, n_layers))
    lora = LoraConfig(
        r=cfg.lora_rank,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(targets) if isinstance(targets, tuple) else targets,
        # bias="none": with the adapter disabled the body is exactly the base model (reference policy).
        bias="none",
        layers_to_transform=top,  # None: every layer
        layers_pattern="layers" if top else None,  # AutoModel's names start at "layers.<i>."
    )
    try:
        with warnings.catch_warnings():
            # peft reads transformers' deprecated `is_gradient_checkpointing`: a FutureWarning on every
            # run that no user of this plugin can act on. Only that one is silenced.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
            peft_model = get_peft_model(model, lora)
    except ValueError as err:  # peft: "Target modules ... not found in the base model"
        raise TargetModulesError(
            f"lora_target_modules={targets!r} matches no module of {model.config.model_type!r}: {err}. "
            "Set lora_target_modules to names from `model.named_modules()` or null for the family default."
        ) from err
    if top is not None:
        _check_adapted_layers(peft_model, set(top))
    # peft freezes the body; say it again so a future peft default cannot silently train it.
    for name, param in peft_model.named_parameters():
        param.requires_grad_("lora_" in name)
    return peft_model


def _check_targets_exist(model: torch.nn.Module, targets: tuple[str, ...]) -> None:
    # peft errors only when nothing matches; a typo among correct names would silently adapt less.
    names = [name for name, _ in model.named_modules()]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise TargetModulesError(
            f"lora_target_modules {missing} match no layer of this {model.config.model_type!r} model; "
            f"its linear layers are named {linear}. Fix the names or set lora_target_modules to null "
            "for the family default."
        )


def _check_adapted_layers(model: torch.nn.Module, top: set[int]) -> None:
    """With `lora_layers: K` the adapter must sit on exactly the last K layers: the learner's frozen
    lower-layer cache is exact only then."""
    import re

    adapted = {
        int(m.group(1))
        for n, _ in model.named_parameters()
        if "lora_" in n and (m := re.search(r"(?:^|\.)layers\.(\d+)\.", n))
    }
    if adapted != top:
        raise TargetModulesError(
            f"lora_layers asked LoRA on layers {sorted(top)} but peft adapted {sorted(adapted)}: "
            "this peft version does not honour layers_to_transform here; set lora_layers=all"
        )
