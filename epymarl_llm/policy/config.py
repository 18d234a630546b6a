"""`PolicyConfig`: the policy's flat EPyMARL keys, read once and validated (METHOD section 4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from epymarl_llm.config_dataclass import Says, config_dataclass
from epymarl_llm.policy.errors import PolicyConfigError

LLM_INITS = ("pretrained", "random")
LLM_DTYPES = ("auto", "float32", "bfloat16", "float16")
ATTACK_KEYS = ("entity", "shared")
HEAD_INPUT_NORMS = ("none", "rms")

Switch = Annotated[bool, Says("{key} must be true or false; got {value!r}")]
PositiveInt = Annotated[int, Field(ge=1), Says("{key} must be a positive integer; got {value!r}")]


def _one_of(choices: tuple[str, ...]) -> str:
    return "{key} must be one of " + ", ".join(choices) + "; got {value!r}"


_MODEL_MESSAGE = "llm_model must be a hub name (e.g. 'Qwen/Qwen3-0.6B') or a local folder"
_DEVICE_MESSAGE = "{key} must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {value!r}"


@config_dataclass(PolicyConfigError)
class PolicyConfig:
    """The LLM-LoRA policy and its attention action head.

    Every field is a flat key of EPyMARL's args with the same name, read once per run into
    `LolmRunConfig.policy` (EPyMARL's own `device`, set from `use_cuda`, is the policy's device).

    Args:
        llm_model: Hugging Face hub name or local folder of a causal LM.
        llm_init: "pretrained" weights, or "random": same architecture and size, random weights
            (the paper's figure-10 ablation).
        llm_dtype: backbone weight dtype; "auto" is bfloat16 on CUDA, and on a CPU with AMX-BF16
            for a model whose decoder layers hold at least 2M weights; float32 elsewhere
            (`dtype_choice`). LoRA and head weights are always float32.
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
        lower_layers_int8: with `lora_layers: K` on CPU in float32, the frozen layers below the
            adapter run their linear maps in int8 (`epymarl_llm.policy.int8_layers`) for every pass
            alike, so PPO's ratios stay those of the acting policy. Not the float32 model's
            probabilities: `epymarl-llm bench dtype-error --candidate int8` prints the distance.
        action_dim: d_a, the action head's embedding width (paper: 1024).
        attack_keys: "entity" (default): each target's key adds a projection of that target's
            pooled span of hidden states; "shared": the paper's replicated attack key, for ablation.
        head_input_norm: "none" (the paper): the head reads the body's final states as they are;
            "rms": divided by their root mean square first (no weights), so that a pretrained body's
            larger states do not make the head's early steps larger than a random body's.
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

    llm_model: Annotated[str, Says(_MODEL_MESSAGE)] = "Qwen/Qwen3-0.6B"
    llm_init: Annotated[Literal["pretrained", "random"], Says(_one_of(LLM_INITS))] = "pretrained"
    llm_dtype: Annotated[Literal["auto", "float32", "bfloat16", "float16"], Says(_one_of(LLM_DTYPES))] = "auto"
    llm_attn_implementation: Annotated[
        str | None,
        Field(min_length=1),
        Says(
            "{key} must be null (transformers default) or a name such as 'sdpa', 'eager' or "
            "'flash_attention_2'; got {value!r}"
        ),
    ] = None
    gradient_checkpointing: Switch = False
    lora_rank: PositiveInt = 8
    lora_alpha: Annotated[
        float, Field(gt=0), Says("{key} must be a positive number (e.g. 2 * lora_rank); got {value!r}")
    ] = 16.0
    lora_dropout: Annotated[
        float,
        Field(ge=0, le=0),
        Says(
            "{key}={value!r}: set lora_dropout=0. PPO runs the rollout, pi_old, the reference and every "
            "epoch without dropout (as TRL's PPO trainers do), so that the rollout samples from the policy "
            "PPO's ratio is taken of; dropout would have no coherent place"
        ),
    ] = 0.0
    lora_target_modules: tuple[str, ...] | str | None = None
    lora_layers: int | str = "all"
    lower_layers_int8: Switch = False
    action_dim: PositiveInt = 1024
    attack_keys: Annotated[Literal["entity", "shared"], Says(_one_of(ATTACK_KEYS))] = "entity"
    head_input_norm: Annotated[Literal["none", "rms"], Says(_one_of(HEAD_INPUT_NORMS))] = "none"
    prefix_cache: Switch = True
    length_buckets: Switch = True
    head_positions_only: Switch = True
    llm_autocast: Switch = True
    max_prompts_per_forward: PositiveInt = 64
    device: Annotated[str, Says(_DEVICE_MESSAGE)] = "auto"

    def __post_init__(self) -> None:
        if not self.llm_model.strip():
            raise PolicyConfigError(_MODEL_MESSAGE)
        if not (self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith(("cuda:", "mps:"))):
            raise PolicyConfigError(_DEVICE_MESSAGE.format(key="device", value=self.device))

    @field_validator("lora_target_modules", mode="before")
    @classmethod
    def _modules_as_tuple(cls, value: Any) -> tuple[str, ...] | str | None:
        return _target_modules(value)  # a yaml list of module names becomes a tuple

    @field_validator("lora_layers", mode="before")
    @classmethod
    def _layers_as_count(cls, value: Any) -> int | str:
        return _lora_layers(value)  # "top-K" becomes K


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
