"""Shared fixtures: small random Qwen3-architecture models built once per test session.

`tiny_model_dir` (hidden 64, 2 layers, 1024-token vocab) is what every engineer's tests load:
`PolicyConfig(llm_model=str(tiny_model_dir))`, or `AutoTokenizer.from_pretrained(tiny_model_dir)`.
`small_model_dir` is the benchmark's "small" shape (hidden 256, 4 layers), built on first use.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def build_model_dir(root: Path, shape: str, with_weights: bool = True) -> Path:
    """Write a model of `SHAPES[shape]` under `root` (the tokenizer is trained on SMAC prompts)."""
    pytest.importorskip("transformers")
    from epymarl_llm.policy.tiny_model import make_tiny_model

    return make_tiny_model(root / shape, shape=shape, with_weights=with_weights, seed=0)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny random Qwen3 model + tokenizer, loadable by `from_pretrained`."""
    return build_model_dir(tmp_path_factory.mktemp("models"), "tiny")


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's small shape (hidden 256, 4 layers): slower, use sparingly."""
    return build_model_dir(tmp_path_factory.mktemp("models"), "small")
