"""The model loader fails fast without network and raises an unchained ModelLoadError."""

from __future__ import annotations

import sys
import time

import pytest

pytest.importorskip("transformers")
from huggingface_hub import constants

from epymarl_llm.policy import PolicyConfig
from epymarl_llm.policy.backbone import load_backbone
from epymarl_llm.policy.errors import ModelLoadError

NOT_CACHED = "epymarl-llm-tests/not-a-cached-model"


def _load_error(**cfg) -> ModelLoadError:
    import torch

    start = time.monotonic()
    with pytest.raises(ModelLoadError) as info:
        load_backbone(PolicyConfig(llm_model=NOT_CACHED, **cfg), torch.device("cpu"), torch.float32)
    info.value.elapsed_s = time.monotonic() - start
    return info.value


def test_unreachable_hub_is_one_short_try_with_the_fix(monkeypatch):
    # Port 9 (discard) on localhost refuses at once: a machine without network, deterministically.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    err = _load_error()
    assert err.elapsed_s < 10  # the hub client alone retries for about a minute
    assert "not in the Hugging Face cache and http://127.0.0.1:9 cannot be reached (one connection attempt" in str(err)
    assert str(err).splitlines()[-1].startswith("If you are offline")  # the fix is the last line
    # Unchained: a chained hub error prints hundreds of lines, and Sacred's traceback filter crashed on it.
    assert err.__cause__ is None and err.__context__ is None


def test_hf_hub_offline_skips_the_network(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr("epymarl_llm.policy.backbone._hub_reachable", lambda *a, **k: pytest.fail("hub was tried"))
    err = _load_error(llm_init="random")
    assert "not in the Hugging Face cache and HF_HUB_OFFLINE is set" in str(err)
    assert err.__cause__ is None and err.__context__ is None


def test_sacred_prints_the_error_without_crashing(monkeypatch):
    """Sacred's `format_filtered_stacktrace` (what EPyMARL's main.py prints) ends with the message."""
    from sacred.utils import format_filtered_stacktrace

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    import torch

    try:
        load_backbone(PolicyConfig(llm_model=NOT_CACHED), torch.device("cpu"), torch.float32)
    except ModelLoadError:
        assert sys.exc_info()[0] is ModelLoadError
        text = format_filtered_stacktrace()
    assert text.strip().splitlines()[-1].startswith("If you are offline")


def test_a_cached_or_local_model_needs_no_network(monkeypatch, tiny_model_dir):
    import torch

    monkeypatch.setattr("epymarl_llm.policy.backbone._hub_reachable", lambda *a, **k: pytest.fail("hub was tried"))
    _model, tokenizer = load_backbone(PolicyConfig(llm_model=str(tiny_model_dir)), torch.device("cpu"), torch.float32)
    assert tokenizer.pad_token_id is not None


def test_invalid_config_value_is_one_unchained_message():
    from epymarl_llm import run_config as rc
    from tests.integration.test_configs import (
        _args,  # the shipped yaml's keys and values
    )

    with pytest.raises(rc.RunConfigError) as info:
        rc.LolmRunConfig.from_args(_args("lolm_mappo", lora_rank=0))
    assert str(info.value) == "invalid PolicyConfig value: lora_rank must be a positive integer; got 0"
    assert info.value.__cause__ is None and info.value.__context__ is None


def _broken_torchvision(root):
    """A torchvision that pip would list and whose import raises what a build for another torch raises."""
    package, dist = root / "torchvision", root / "torchvision-0.28.0.dist-info"
    package.mkdir(parents=True)
    dist.mkdir()
    (package / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.28.0\n")
    return root


def test_a_broken_torchvision_is_named_in_the_last_line_with_the_fix(tmp_path):
    import os
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    fakes = _broken_torchvision(tmp_path / "fakes")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fakes), str(repo)])}
    proc = subprocess.run(
        [sys.executable, "-c", "from epymarl_llm.policy import LlmPolicy"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0
    assert "the installed torchvision is broken (RuntimeError: operator torchvision::nms does not exist)" in lines[-2]
    assert lines[-1] == "Fix: pip uninstall -y torchvision (or install the torchvision built for this torch)"
