"""`PolicyConfig`: the policy's flat EPyMARL keys, read once and validated (METHOD section 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from epymarl_llm.policy.errors import PolicyConfigError

LLM_INITS = ("pretrained", "random")
LLM_DTYPES = ("auto", "float32", "bfloat16", "float16")
ATTACK_KEYS = ("entity", "shared")


@dataclass
class PolicyConfig:
    """The LLM-LoRA policy and its attention action head.

    Every field is a flat key of EPyMARL's args with the same name, read once per run into
    `LolmRunConfig.policy` (EPyMARL's own `device`, set from `use_cuda`, is the policy's device).

    Args:
        llm_model: Hugging Face hub name or local folder of a causal LM.
        llm_init: "pretrained" weights, or "random": same architecture and size, random weights
            (the paper's figure-10 ablation).
        llm_dtype: backbone weight dtype; "auto" is float32 on CPU and bfloat16 on CUDA. LoRA and
            head weights are always float32.
        llm_attn_implementation: passed to `from_pretrained` ("sdpa", "eager", "flash_attention_2",
            ...); None keeps the transformers default.
        gradient_checkpointing: recompute the backbone's activations in backward (training only).
        lora_rank, lora_alpha: peft `LoraConfig` r and lora_alpha.
        lora_dropout: must be 0. Every pass (rollout, pi_old, reference, PPO epochs) runs without
            dropout, as TRL's PPO trainers do (`disable_dropout_in_model` on policy and reference):
            the rollout then samples from the policy whose probabilities form PPO's ratio, and the
            first ratio is exactly 1. A value above 0 is refused rather than silently ignored.
        lora_target_modules: module names (or one peft regex string) to adapt; None picks the
            family default (`epymarl_llm.policy.lora.default_target_modules`).
        lora_layers: "all" (the paper), or K: LoRA on the last K decoder layers only (peft's
            `layers_to_transform`). The learner then runs the frozen layers below once per
            agent-step and each later pass through the top K only (beyond the paper, METHOD section 9).
        action_dim: d_a, the action head's embedding width (paper: 1024).
        attack_keys: "entity" (default): each target's key adds a projection of that target's
            pooled span of hidden states; "shared": the paper's replicated attack key, for ablation.
        prefix_cache: run the prompts' shared prefix (instruction + goal) once and reuse its
            keys/values: across rollout steps until LoRA changes, once per run for the reference,
            once per forward with gradients in training. Same probabilities as without.
        head_positions_only: the last decoder layer computes its queries, attention output and MLP
            only at the positions the action head reads (each prompt's last token and its targets'
            descriptions); keys and values stay computed for every position. Same probabilities.
        length_buckets: group prompts of similar length into one forward (`policy.buckets`) so
            that right-padding costs little; False runs consecutive rows (the plain path).
        llm_autocast: on CUDA with a bf16/fp16 body, run the forward under `torch.autocast` so the
            fp32 LoRA matmuls run in half precision too (no effect on CPU).
        max_prompts_per_forward: rows per backbone forward at most (memory bound).
        device: "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...
    """

    llm_model: str = "Qwen/Qwen3-0.6B"
    llm_init: str = "pretrained"
    llm_dtype: str = "auto"
    llm_attn_implementation: str | None = None
    gradient_checkpointing: bool = False
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_target_modules: tuple[str, ...] | str | None = None
    lora_layers: int | str = "all"
    action_dim: int = 1024
    attack_keys: str = "entity"
    prefix_cache: bool = True
    length_buckets: bool = True
    head_positions_only: bool = True
    llm_autocast: bool = True
    max_prompts_per_forward: int = 64
    device: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.llm_model, str) or not self.llm_model.strip():
            raise PolicyConfigError("llm_model must be a hub name (e.g. 'Qwen/Qwen3-0.6B') or a local folder")
        _choice("llm_init", self.llm_init, LLM_INITS)
        _choice("llm_dtype", self.llm_dtype, LLM_DTYPES)
        _choice("attack_keys", self.attack_keys, ATTACK_KEYS)
        if self.llm_attn_implementation is not None and (
            not isinstance(self.llm_attn_implementation, str) or not self.llm_attn_implementation
        ):
            raise PolicyConfigError(
                "llm_attn_implementation must be null (transformers default) or a name such as "
                f"'sdpa', 'eager' or 'flash_attention_2'; got {self.llm_attn_implementation!r}"
            )
        for name in ("gradient_checkpointing", "prefix_cache", "length_buckets", "llm_autocast", "head_positions_only"):
            if not isinstance(getattr(self, name), bool):
                raise PolicyConfigError(f"{name} must be true or false; got {getattr(self, name)!r}")
        for name in ("lora_rank", "action_dim", "max_prompts_per_forward"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PolicyConfigError(f"{name} must be a positive integer; got {value!r}")
        if isinstance(self.lora_alpha, bool) or not isinstance(self.lora_alpha, (int, float)) or self.lora_alpha <= 0:
            raise PolicyConfigError(
                f"lora_alpha must be a positive number (e.g. 2 * lora_rank); got {self.lora_alpha!r}"
            )
        self.lora_alpha = float(self.lora_alpha)
        if (
            isinstance(self.lora_dropout, bool)
            or not isinstance(self.lora_dropout, (int, float))
            or self.lora_dropout != 0
        ):
            raise PolicyConfigError(
                f"lora_dropout={self.lora_dropout!r}: set lora_dropout=0. PPO runs the rollout, pi_old, the "
                "reference and every epoch without dropout (as TRL's PPO trainers do), so that the rollout "
                "samples from the policy PPO's ratio is taken of; dropout would have no coherent place"
            )
        self.lora_dropout = float(self.lora_dropout)
        self.lora_target_modules = _target_modules(self.lora_target_modules)
        self.lora_layers = _lora_layers(self.lora_layers)
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith(("cuda:", "mps:"))
        ):
            raise PolicyConfigError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {self.device!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise PolicyConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _lora_layers(value: Any) -> int | str:
    """ "all", or a positive K (also written "top-K"); checked against the model's depth when it loads."""
    if value == "all":
        return value
    if isinstance(value, str) and value.startswith("top-") and value[4:].isdigit():
        value = int(value[4:])
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PolicyConfigError(
            f"lora_layers must be 'all' or a positive number K of top layers (e.g. 2); got {value!r}"
        )
    return value


def _target_modules(value: Any) -> tuple[str, ...] | str | None:
    """None, one peft regex/keyword string ("all-linear"), or a non-empty list of module names."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise PolicyConfigError("lora_target_modules must not be empty: use null for the family default")
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise PolicyConfigError(
        "lora_target_modules must be null (family default), a list of module names such as "
        f"['q_proj', 'v_proj'], or a peft regex string; got {value!r}"
    )
