"""The prefix cache reaches transformers by the name the model takes, with no deprecation warning."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import torch

from epymarl_llm.policy import cache_api


@pytest.mark.parametrize("family", ["qwen3", "llama"])
def test_the_keyword_is_the_one_the_models_forward_takes(family):
    import importlib
    import inspect

    module = importlib.import_module(f"transformers.models.{family}.modeling_{family}")
    model_class = getattr(module, {"qwen3": "Qwen3Model", "llama": "LlamaModel"}[family])
    parameters = inspect.signature(model_class.forward).parameters
    keyword = cache_api._keyword_of(model_class)
    assert keyword in parameters
    # The new name wherever the model knows it: the old one is deprecated there.
    assert keyword == ("cache" if "cache" in parameters else "past_key_values")


def test_outputs_and_caches_of_either_generation_are_read():
    @dataclass
    class NewOutput:
        cache: object = None

    @dataclass
    class OldOutput:
        past_key_values: object = None

    assert cache_api.output_cache(NewOutput(cache="new")) == "new"
    assert cache_api.output_cache(OldOutput(past_key_values="old")) == "old"
    k, v = torch.zeros(1), torch.ones(1)
    per_layer = SimpleNamespace(layers=[SimpleNamespace(keys=k, values=v)])
    lists = SimpleNamespace(key_cache=[k], value_cache=[v])  # transformers before 4.56
    for cache in (per_layer, lists):
        assert cache_api.layer_kv(cache, 0) == (k, v)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_default_prefix_cache_forward_warns_of_nothing(make_policy, step):
    """Rollout, reference and top-layer passes through the prefix cache: no warning, of any kind."""
    batch, avail = step
    assert batch.prefix_len > 0
    # transformers says each deprecation once per process: forget what earlier tests triggered
    logging.Logger.warning_once.cache_clear()
    transformers_log = logging.getLogger("transformers")
    records = _Records()
    transformers_log.addHandler(records)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            policy = make_policy()  # loading runs a forward too (the causal-decoder check)
            split = make_policy(lora_layers=1)  # the lower layers' own prefix cache
            assert policy.cfg.prefix_cache and split.splits_layers
            with torch.no_grad():
                for _ in range(2):  # the second call reuses the cached prefix
                    policy.forward_chunked(batch, avail)
                policy.reference_logits(batch, avail)
                split(batch, avail, lower=split.lower_states(batch))
    finally:
        transformers_log.removeHandler(records)
    assert not [m for m in records.messages if "deprecated" in m], records.messages
