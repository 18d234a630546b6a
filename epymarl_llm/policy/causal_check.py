"""The backbone must be a causal decoder (METHOD section 4).

The policy reads the last prompt token's final state, and the prefix cache reuses the shared
prompt prefix's keys and values: both need a left-to-right model whose forward returns a cache.
An encoder (BERT) or an encoder-decoder (T5) loads through `AutoModel` as well, and would only fail
at the first rollout step with an unrelated error; this probe says so when the model is loaded.
"""

from __future__ import annotations

import torch

from epymarl_llm.policy.cache_api import output_cache
from epymarl_llm.policy.errors import ModelLoadError


def check_causal_decoder(model: torch.nn.Module, name: str) -> None:
    """Raise `ModelLoadError` unless `model` is a causal decoder.

    A three-token probe: the forward must return a key/value cache, and changing the last token
    must leave the earlier positions' states unchanged.
    """
    config = model.config
    problem = "it is an encoder-decoder model" if getattr(config, "is_encoder_decoder", False) else None
    if problem is None:
        problem = _probe(model)
    if problem is not None:
        raise ModelLoadError(
            f"llm_model={name!r} is a {type(model).__name__} (model_type {config.model_type!r}), not a "
            f"causal decoder: {problem}. The policy reads the last prompt token's state of a "
            "left-to-right language model and caches the shared prompt prefix.\n"
            "Set llm_model to a causal language model (one that AutoModelForCausalLM loads, e.g. "
            "Qwen/Qwen3-0.6B or HuggingFaceTB/SmolLM2-135M), or write a small random one with "
            "`epymarl-llm make-tiny-model DIR`."
        )


def _probe(model: torch.nn.Module) -> str | None:
    device = next(model.parameters()).device
    vocab = int(getattr(model.config, "vocab_size", 4) or 4)
    ids = torch.tensor([[1, 2, 3]], device=device) % max(vocab, 1)
    changed = ids.clone()
    changed[0, -1] = (changed[0, -1] + 1) % max(vocab, 1)
    was_training = model.training
    model.eval()  # dropout off, so the two forwards are comparable
    try:
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
            other = model(input_ids=changed, attention_mask=torch.ones_like(ids), use_cache=False)
    finally:
        model.train(was_training)
    if output_cache(out) is None:
        return "its forward returns no key/value cache"
    before, after = out.last_hidden_state[:, :-1].float(), other.last_hidden_state[:, :-1].float()
    # A bidirectional model moves them by about their own size; rounding of a causal one in half
    # precision (other kernels for other inputs) by far less.
    tolerance = (1e-4 if out.last_hidden_state.dtype == torch.float32 else 2e-2) * (float(before.abs().max()) + 1e-6)
    if float((before - after).abs().max()) > tolerance:
        return "its earlier positions depend on later tokens (bidirectional attention)"
    return None
