"""The causal-LM body: loading, and the last real token's final hidden state (METHOD section 4).

Only the transformer body runs (`AutoModel`, no vocabulary projection: that projection alone is
about a third of Qwen3-0.6B's forward cost, docs/PERFORMANCE.md "Cost model").
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# First: a broken torchvision then fails here with the fix, not deep inside transformers.
from epymarl_llm.policy import transformers_guard  # noqa: F401

# isort: split
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel

from epymarl_llm.policy.cache_api import cache_from_layers, cache_kwargs, layer_kv, output_cache
from epymarl_llm.policy.causal_check import check_causal_decoder
from epymarl_llm.policy.config import PolicyConfig
from epymarl_llm.policy.dtype_choice import DtypeChoice, auto_dtype
from epymarl_llm.policy.errors import ModelLoadError, PolicyConfigError
from epymarl_llm.policy.named_models import resolve_model

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_HUB_TIMEOUT_S = 3.0
_LOCAL_HINT = (
    "If you are offline or the model is not in the Hugging Face cache, download it on a machine with "
    "network access (`hf download {name} --local-dir DIR`) and set llm_model=DIR, or write a small "
    "random model with `epymarl-llm make-tiny-model DIR` and set llm_model=DIR."
)
# For a folder that exists: downloading its own path from the hub would be no fix.
_FOLDER_HINT = (
    "llm_model={name} is a folder: it must hold a Hugging Face causal language model as "
    "`save_pretrained` writes it (config.json, the weights, the tokenizer files). Download one into "
    "it (`hf download Qwen/Qwen3-0.6B --local-dir {quoted}`), point llm_model at another folder, or "
    "write a small random model with `epymarl-llm make-tiny-model {quoted}`."
)


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA when available, else CPU; an unavailable CUDA device is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PolicyConfigError(f"device={name!r} but torch sees no CUDA GPU: set device=cpu (or use_cuda=False)")
    return device


def resolve_dtype(
    name: str, device: torch.device, cpuinfo: str | None = None, layer_weights: Any = None
) -> torch.dtype:
    """The body's dtype: `name`, or for "auto" what `dtype_choice.auto_dtype` picks on `device`.

    The head, LoRA, log-softmax and PPO ratios stay float32 whatever this picks.

    Args:
        layer_weights: for "auto", one decoder layer's weights, or a function that counts them.
    """
    if name == "auto":
        return auto_dtype(device, cpuinfo, layer_weights).dtype
    return _DTYPES[name]


def policy_dtype(cfg: PolicyConfig, device: torch.device, layer_weights: int | None = None) -> DtypeChoice:
    """`cfg.llm_dtype` resolved for this policy, with the reason a run prints.

    `auto` may depend on the size of the model's layers (an AMX CPU): `layer_weights` when given
    (a loaded body's), else counted from the model's config before loading. With `lower_layers_int8`
    it is float32, the only dtype the int8 layers serve.
    """
    if cfg.llm_dtype != "auto":
        return DtypeChoice(_DTYPES[cfg.llm_dtype], f"llm_dtype={cfg.llm_dtype}")
    if cfg.lower_layers_int8:
        return DtypeChoice(torch.float32, "llm_dtype auto: float32, the only dtype lower_layers_int8 serves")
    weights = layer_weights if layer_weights is not None else (lambda: config_layer_weights(cfg.llm_model))
    choice = auto_dtype(device, layer_weights=weights)
    return DtypeChoice(choice.dtype, f"llm_dtype auto: {choice.reason}", choice.needs_layer_size)


def settle_dtype(
    cfg: PolicyConfig, device: torch.device, choice: DtypeChoice, body: PreTrainedModel
) -> tuple[DtypeChoice, PreTrainedModel]:
    """The choice again with the loaded body's layer size where it needed one, and the body in it.

    A hub model's config is on the machine only once it has been downloaded: the first run's
    choice is made here, so that it equals every later run's.
    """
    weights = first_layer_weights(body)
    if not choice.needs_layer_size or weights is None:
        return choice, body
    settled = policy_dtype(cfg, device, layer_weights=weights)
    return settled, body.to(settled.dtype)


def first_layer_weights(body: torch.nn.Module) -> int | None:
    """The weights of a body's first decoder layer (`body.layers[0]`); None for a body without layers."""
    layers = getattr(body, "layers", None)
    if not isinstance(layers, torch.nn.ModuleList) or len(layers) == 0:
        return None
    return sum(p.numel() for p in layers[0].parameters())


def config_layer_weights(llm_model: str) -> int | None:
    """The weights of one decoder layer of `llm_model`, built from its config on the meta device.

    Nothing is loaded or allocated. None where the config is not on this machine (a hub name not
    yet downloaded) or the body has no `layers`: `auto` then stays float32 on a CPU.
    """
    try:
        name = resolve_model(llm_model)
        path = Path(name).expanduser()
        config = AutoConfig.from_pretrained(str(path) if path.exists() else name, local_files_only=True)
        with torch.device("meta"):
            body = AutoModel.from_config(config)
    except (OSError, ValueError, ModelLoadError):
        return None
    return first_layer_weights(body)


def load_backbone(cfg: PolicyConfig, device: torch.device, dtype: torch.dtype) -> tuple[PreTrainedModel, Any]:
    """The frozen body of `cfg.llm_model` (pretrained or randomly initialised) and its tokenizer.

    `cfg.llm_model` may also be a named model (`smollm2-135m`) or a `.gguf` file: its converted
    folder is loaded (`named_models.resolve_model`).

    Raises:
        ModelLoadError: the folder does not exist, or the hub name cannot be resolved offline.
    """
    name = resolve_model(cfg.llm_model)
    path = Path(name).expanduser()
    if path.exists():
        name = str(path)
    elif name.startswith(("/", "./", "../", "~")):
        raise ModelLoadError(
            f"llm_model={cfg.llm_model!r} is not an existing folder. " + _LOCAL_HINT.format(name="Qwen/Qwen3-0.6B")
        )
    kwargs: dict[str, Any] = {"dtype": dtype}
    if cfg.llm_attn_implementation is not None:
        kwargs["attn_implementation"] = cfg.llm_attn_implementation
    problem = None
    try:
        if path.exists():
            tokenizer, model = _load(name, cfg.llm_init, kwargs, local_only=True)
        else:
            tokenizer, model = _load_from_hub(name, cfg.llm_init, kwargs)
    except (OSError, ValueError) as err:
        problem = str(err)
    if problem is not None:
        # Raised outside the `except`: no chained hub traceback (hundreds of lines, and Sacred's
        # traceback filter fails on some of its links), so this message is the last thing printed.
        hint = _FOLDER_HINT if path.exists() else _LOCAL_HINT
        raise ModelLoadError(
            f"cannot load llm_model={cfg.llm_model!r}: {problem}\n"
            + hint.format(name=cfg.llm_model, quoted=shlex.quote(cfg.llm_model))
        )
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is None:
            raise ModelLoadError(
                f"the tokenizer of {cfg.llm_model!r} has neither a pad nor an eos token: add a pad token"
            )
        tokenizer.pad_token = tokenizer.eos_token
    model.requires_grad_(False)
    model = model.to(device)
    check_causal_decoder(model, cfg.llm_model)
    if cfg.gradient_checkpointing:
        _enable_checkpointing(model)
    return model, tokenizer


def _load(name: str, init: str, kwargs: dict[str, Any], local_only: bool) -> tuple[Any, PreTrainedModel]:
    tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
    if init == "pretrained":
        return tokenizer, AutoModel.from_pretrained(name, local_files_only=local_only, **kwargs)
    # Figure-10 ablation: the same architecture and size, random weights.
    return tokenizer, AutoModel.from_config(AutoConfig.from_pretrained(name, local_files_only=local_only), **kwargs)


def _load_from_hub(name: str, init: str, kwargs: dict[str, Any]) -> tuple[Any, PreTrainedModel]:
    """The Hugging Face cache first; the hub only when it answers a single connection attempt."""
    try:
        return _load(name, init, kwargs, local_only=True)
    except OSError:
        pass
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise OSError("it is not in the Hugging Face cache and HF_HUB_OFFLINE is set")
    if not _hub_reachable(constants.ENDPOINT):
        raise OSError(
            f"it is not in the Hugging Face cache and {constants.ENDPOINT} cannot be reached "
            f"(one connection attempt of {_HUB_TIMEOUT_S:g} s)"
        )
    return _load(name, init, kwargs, local_only=False)


def _hub_reachable(endpoint: str, timeout_s: float | None = None) -> bool:
    """One TCP connection to the hub's endpoint (`HF_ENDPOINT`): without this check, a hub name that
    is not cached costs about a minute of the hub client's retries on a machine without network,
    before the same error.
    """
    import socket
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    url = urlsplit(endpoint)
    # Behind a proxy (HTTPS_PROXY, ...) the hub is reached through it: the proxy is what must answer.
    proxy = getproxies().get(url.scheme) if url.hostname and not proxy_bypass(url.hostname) else None
    if proxy:
        url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout_s or _HUB_TIMEOUT_S):
            return True
    except OSError:
        return False


def _enable_checkpointing(model: PreTrainedModel) -> None:
    # Non-reentrant checkpointing; transformers >= 5 prefers activation_checkpointing_enable and also
    # makes the (frozen) embedding output require grad so gradients reach the LoRA layers.
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable()
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()


def disable_dropout(model: torch.nn.Module) -> None:
    """Every dropout of `model` off, in training mode too (TRL's `disable_dropout_in_model` for PPO).

    PPO needs one policy for acting, pi_old and the epochs: a dropout-perturbed rollout would sample
    from a policy that neither the ratio's denominator nor its numerator is. With dropout off,
    training mode only switches gradient checkpointing on, and two forwards of the same weights agree.
    """
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if isinstance(getattr(module, "attention_dropout", None), float):
            module.attention_dropout = 0.0  # transformers' attention modules apply it functionally
    if hasattr(getattr(model, "config", None), "attention_dropout"):
        model.config.attention_dropout = 0.0


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """(M, L) 0/1 mask -> (M,) position of each row's last real token; left or right padding."""
    positions = torch.arange(1, attention_mask.shape[1] + 1, device=attention_mask.device)
    return (attention_mask.long() * positions).argmax(dim=1)


def body_hidden(
    model: torch.nn.Module,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor,
    inputs_embeds: torch.Tensor | None = None,
) -> torch.Tensor:
    """(M, L) ids (or (M, L, H) `inputs_embeds`) and mask -> (M, L, H) final-norm hidden states, in the body's dtype.

    Positions count real tokens only, so a left-padded row reads exactly like its unpadded self.
    """
    position_ids = (attention_mask.long().cumsum(dim=1) - 1).clamp_min(0)
    # use_cache=False: with the default an eval forward builds a cache and skips packing checks
    # (docs/PERFORMANCE.md "Padding and packing").
    out = model(
        input_ids=input_ids,
        inputs_embeds=inputs_embeds,
        attention_mask=attention_mask,
        position_ids=position_ids,
        use_cache=False,
    )
    return out.last_hidden_state


@dataclass
class PrefixKV:
    """The shared prefix run once at batch 1: each layer's (key, value) and the final states.

    Args:
        layers: per layer (k, v), each (1, kv_heads, P, head_dim), in the body's dtype.
        states: (1, P, H) final-norm hidden states of the prefix.
    """

    layers: list[tuple[torch.Tensor, torch.Tensor]]
    states: torch.Tensor

    @property
    def length(self) -> int:
        return int(self.states.shape[1])


def run_prefix(model: torch.nn.Module, prefix_ids: torch.Tensor) -> PrefixKV:
    """(1, P) ids of the shared prefix -> its keys/values and states (one batch-1 forward)."""
    out = model(input_ids=prefix_ids, attention_mask=torch.ones_like(prefix_ids), use_cache=True)
    cache = output_cache(out)
    return PrefixKV([layer_kv(cache, i) for i in range(len(cache))], out.last_hidden_state)


def body_hidden_after_prefix(
    model: torch.nn.Module, prefix: PrefixKV, suffix_ids: torch.Tensor, suffix_mask: torch.Tensor
) -> torch.Tensor:
    """(M, S) right-padded suffix ids and mask -> (M, S, H) states of the suffix tokens.

    The prefix's keys/values are expanded (views, no copy) to the batch; the suffixes attend to
    them (docs/PERFORMANCE.md "Shared-prefix KV cache"). A fresh cache is built per call because every
    forward appends to the cache it is given; `prefix` itself is never modified, so it can be
    reused across calls (the rollout's policy prefix per LoRA version, the reference's per run).
    """
    rows = suffix_ids.shape[0]
    cache = cache_from_layers([(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in prefix.layers])
    mask = torch.cat([suffix_mask.new_ones(rows, prefix.length), suffix_mask], dim=1)
    # No position_ids: positions continue from the cache length, which is right for right padding.
    out = model(input_ids=suffix_ids, attention_mask=mask, use_cache=True, **cache_kwargs(model, cache))
    return out.last_hidden_state


def body_hidden_prefix_cached(
    model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, prefix_len: int
) -> torch.Tensor:
    """As `body_hidden`, running the shared first `prefix_len` tokens once (right padding only).

    Returns (M, L, H): the prefix states broadcast to every row, then the suffix states.
    """
    prefix = run_prefix(model, input_ids[:1, :prefix_len])
    suffix = body_hidden_after_prefix(model, prefix, input_ids[:, prefix_len:], attention_mask[:, prefix_len:])
    return torch.cat([prefix.states.expand(input_ids.shape[0], -1, -1), suffix], dim=1)


def pool_spans(hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """(M, L, H) states and (M, T, 2) [start, end) spans -> (M, T, H) float32 mean over each span.

    An empty span ((0, 0): the target is not in the prompt) pools to zeros.
    """
    positions = torch.arange(hidden.shape[1], device=hidden.device)
    start, end = spans[..., :1], spans[..., 1:]
    inside = (positions >= start) & (positions < end)  # (M, T, L)
    sums = torch.einsum("mtl,mlh->mth", inside.to(hidden.dtype), hidden).float()
    return sums / inside.sum(dim=-1, keepdim=True).clamp_min(1).float()
