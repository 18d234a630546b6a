"""The prefix cache's calls into transformers, the same on every version setup.py allows.

transformers 5.x names the key/value cache `cache`: the model's and each decoder layer's forward
argument and the output's field. The old name `past_key_values` still works there but warns on
every call (a FutureWarning) and goes in 5.40. Older releases, 4.51 included, know only
`past_key_values` (their decoder layers: `past_key_value`), build a DynamicCache from per-layer
pairs through another keyword and keep a cache's tensors in `key_cache`/`value_cache` lists.

The forward keyword is read from the model's forward signature (once per model class), not
from the version number, so any model family that names it either way gets the name it takes.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn

NEW_KEYWORD = "cache"
OLD_KEYWORD = "past_key_values"


@functools.cache
def _keyword_of(model_class: type) -> str:
    parameters = inspect.signature(model_class.forward).parameters
    return NEW_KEYWORD if NEW_KEYWORD in parameters else OLD_KEYWORD


def cache_keyword(model: nn.Module) -> str:
    """`cache` or `past_key_values`: what the transformers model under a peft wrapper calls its cache."""
    # peft's wrapper takes **kwargs and hands them on: the wrapped model's signature decides.
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return _keyword_of(type(base))


def cache_kwargs(model: nn.Module, cache: Any) -> dict[str, Any]:
    """The keyword argument that hands `cache` to `model`'s forward."""
    return {cache_keyword(model): cache}


def output_cache(output: Any) -> Any:
    """The cache a forward with `use_cache=True` returned (`.cache`, or `.past_key_values` before 5.x)."""
    # On 5.x `.past_key_values` is a deprecated alias that logs a warning: read the field itself.
    if NEW_KEYWORD in getattr(output, "__dataclass_fields__", {}):
        return output.cache
    return output.past_key_values


def cache_from_layers(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> Any:
    """A DynamicCache holding these per-layer (key, value) pairs."""
    from transformers import DynamicCache

    # The first parameter takes per-layer pairs on every version; only its name changed
    # (`_distributed_cache_data`, later `ddp_cache_data`), so it is passed by position.
    return DynamicCache(layers)


def layer_kv(cache: Any, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(key, value) of layer `index` of a transformers cache."""
    if hasattr(cache, "layers"):  # 4.56 and later: one object per layer
        layer = cache.layers[index]
        return layer.keys, layer.values
    return cache.key_cache[index], cache.value_cache[index]
