"""Checkpoints of what trains: the LoRA adapter (peft format) and the action head (METHOD section 4).

A folder holds `adapter_config.json` + `adapter_model.safetensors` (readable by
`PeftModel.from_pretrained`), `action_head.safetensors`, and `policy_meta.json` with the
architecture facts that must match on load. The head has no per-map weights, so a checkpoint
trained on one map loads into a policy for any other map (paper section 4.4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from epymarl_llm.policy.checkpoint_files import read_checkpoint_file
from epymarl_llm.policy.config import PolicyConfig
from epymarl_llm.policy.errors import CheckpointError

if TYPE_CHECKING:
    import torch
    from torch import nn


class TrainableParts(Protocol):
    """What a checkpoint reads and writes of a policy (`LlmPolicy` has it): the peft-wrapped body,
    the action head and the config, on one device."""

    cfg: PolicyConfig
    model: Any  # peft.PeftModel
    head: nn.Module

    @property
    def device(self) -> torch.device: ...


HEAD_FILE = "action_head.safetensors"
META_FILE = "policy_meta.json"
FORMAT = "epymarl_llm.policy/1"
# fact -> the config key that fixes a mismatch
_FIX = {
    "model_type": "llm_model",
    "hidden_size": "llm_model",
    "num_hidden_layers": "llm_model",
    "num_attention_heads": "llm_model",
    "num_key_value_heads": "llm_model",
    "intermediate_size": "llm_model",
    "vocab_size": "llm_model",
    "action_dim": "action_dim",
    "attack_keys": "attack_keys",
    "head_input_norm": "head_input_norm",
    "lora_rank": "lora_rank",
    "lora_alpha": "lora_alpha",
    "lora_target_modules": "lora_target_modules",
    "lora_layers": "lora_layers",
}
# Facts recorded since a later version: checkpoints written before are not held to them. With them
# two models of one family but other sizes (a tiny Llama, SmolLM2) are told apart by shape.
_LATER_FACTS = ("num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size")


def architecture_facts(policy: TrainableParts) -> dict[str, Any]:
    """What a checkpoint's tensors depend on (the map does not appear: any map loads)."""
    config = policy.model.get_base_model().config
    lora = policy.model.peft_config["default"]
    return {
        "model_type": config.model_type,
        "hidden_size": int(config.hidden_size),
        "num_hidden_layers": int(config.num_hidden_layers),
        "num_attention_heads": int(config.num_attention_heads),
        "num_key_value_heads": int(getattr(config, "num_key_value_heads", None) or config.num_attention_heads),
        "intermediate_size": int(getattr(config, "intermediate_size", 0) or 0),
        "vocab_size": int(config.vocab_size),
        "action_dim": policy.head.action_dim,
        "attack_keys": policy.head.attack_keys,
        # Not a tensor's shape, but the head's weights were trained on inputs of that scale.
        "head_input_norm": policy.head.input_norm,
        "lora_rank": int(lora.r),
        # The adapter's output is scaled by alpha / r: another alpha loads the same tensors at another scale.
        "lora_alpha": float(lora.lora_alpha),
        "lora_target_modules": sorted(lora.target_modules)
        if not isinstance(lora.target_modules, str)
        else lora.target_modules,
        "lora_layers": policy.cfg.lora_layers,
    }


def save_trainable(policy: TrainableParts, directory: Path) -> Path:
    """Write adapter, head and facts to `directory` (created if needed); returns it."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    policy.model.save_pretrained(directory)
    _sort_set_valued_keys(directory / "adapter_config.json", policy.model.peft_config["default"])
    save_file({k: v.detach().contiguous().cpu() for k, v in policy.head.state_dict().items()}, directory / HEAD_FILE)
    meta = {
        "format": FORMAT,
        # Informational: a local copy of the same model loads too. The facts tell models apart.
        "llm_model": policy.cfg.llm_model,
        "lora_alpha": policy.cfg.lora_alpha,
        "facts": architecture_facts(policy),
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return directory


def _sort_set_valued_keys(path: Path, lora_config: Any) -> None:
    """peft writes its set-valued keys (`target_modules`) as `list(set)`, in an order that changes
    with the interpreter's string hash seed: sorted, two identical runs write identical files."""
    set_keys = [k for k, v in vars(lora_config).items() if isinstance(v, (set, frozenset))]
    if not set_keys:
        return
    data = json.loads(path.read_text())
    for key in set_keys:
        if isinstance(data.get(key), list):
            data[key] = sorted(data[key])
    path.write_text(json.dumps(data, indent=2, sort_keys=True))  # peft's own layout


def load_trainable(policy: TrainableParts, directory: Path) -> None:
    """Load adapter and head weights written by `save_trainable` into `policy`.

    Raises:
        CheckpointError: missing files, or a checkpoint of another backbone, head width or LoRA shape.
    """
    from peft.utils import load_peft_weights, set_peft_model_state_dict
    from safetensors.torch import load_file

    for name in (META_FILE, HEAD_FILE, "adapter_config.json"):
        if not (directory / name).is_file():
            raise CheckpointError(f"{directory} has no {name}: point at a folder written by LlmPolicy.save_trainable")
    meta = json.loads((directory / META_FILE).read_text())
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{directory / META_FILE} has format {meta.get('format')!r}; this version reads {FORMAT!r}"
        )
    saved, current = dict(meta["facts"]), architecture_facts(policy)
    if "lora_alpha" not in saved and meta.get("lora_alpha") is not None:
        saved["lora_alpha"] = float(meta["lora_alpha"])  # a policy_meta.json may hold it beside the facts only
    saved.setdefault("lora_layers", "all")  # written before lora_layers existed: every layer adapted
    saved.setdefault("head_input_norm", "none")  # written before the switch existed: the paper's head
    diffs = [
        f"{k}: checkpoint {saved.get(k)!r} vs policy {v!r} (set {_FIX[k]})"
        for k, v in current.items()
        if saved.get(k) != v and (k in saved or k not in _LATER_FACTS)
    ]
    if diffs:
        raise CheckpointError(
            f"checkpoint {directory} (trained with llm_model={meta.get('llm_model')!r}) does not fit this policy: "
            + "; ".join(diffs)
        )
    adapter = read_checkpoint_file(
        directory / "adapter_model.safetensors",
        lambda _: load_peft_weights(str(directory), device=str(policy.device)),
    )
    result = set_peft_model_state_dict(policy.model, adapter, adapter_name="default")
    missing = [k for k in result.missing_keys if "lora_" in k]
    if result.unexpected_keys or missing:
        raise CheckpointError(
            f"adapter in {directory} does not match the policy's LoRA layers "
            f"(unexpected {list(result.unexpected_keys)[:3]}, missing {missing[:3]})"
        )
    head = read_checkpoint_file(directory / HEAD_FILE, lambda path: load_file(path, device=str(policy.device)))
    policy.head.load_state_dict(head, strict=True)
