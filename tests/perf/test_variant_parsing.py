"""How the speed commands read their variants: `bench --variants` and `bench epymarl --variant`."""

import pytest

from epymarl_llm_tools.bench import epymarl_speed as speed
from epymarl_llm_tools.bench.measure import parse_variant
from epymarl_llm_tools.commands.bench import split_variants


def test_bench_variants_take_several_switches_and_values():
    assert split_variants("fast,fast:pi_old_from_rollout=off,number_format=percent,fast:lora_layers=1,reference") == [
        "fast",
        "fast:pi_old_from_rollout=off,number_format=percent",
        "fast:lora_layers=1",
        "reference",
    ]
    assert parse_variant("fast:pi_old_from_rollout=off,number_format=percent,lora_layers=2") == (
        "fast",
        {"pi_old_from_rollout": False, "number_format": "percent", "lora_layers": 2},
    )
    with pytest.raises(ValueError, match="lora_layers"):
        parse_variant("fast:lora_layers=two")
    with pytest.raises(ValueError, match="VALUE"):
        parse_variant("fast:nonsense=on")


def test_speed_variants_and_their_table():
    assert speed.parse_variant("top1:lora_layers=1, lower_cache_mb=64") == (
        "top1",
        ["lora_layers=1", "lower_cache_mb=64"],
    )
    for bad in ("noname", ":lora_layers=1", "x:lora_layers"):
        with pytest.raises(ValueError, match="NAME:KEY=VALUE"):
            speed.parse_variant(bad)
    result = {
        "mappo_steps": 100,
        "mappo_steps_per_s": 50.0,
        "variants": {
            "today": {
                "steps": 40,
                "steps_per_s": 1.0,
                "updates": ["number_format=percent"],
                "ratio_to_mappo": 0.02,
                "ratio_to_first": 1.0,
            },
            "top1": {
                "steps": 40,
                "steps_per_s": 2.5,
                "updates": ["lora_layers=1"],
                "ratio_to_mappo": 0.05,
                "ratio_to_first": 2.5,
            },
        },
    }
    text = speed.format_result(result, "3s5z")
    assert "mappo 50.00 env steps/s" in text and "/ first = 2.50x" in text and "[lora_layers=1]" in text


def test_a_variant_body_dtype_is_its_bf16_switch_else_the_bench_option():
    from epymarl_llm_tools.bench.measure import variant_dtype

    assert variant_dtype({"llm_dtype": "float32"}, parse_variant("fast:bf16=on")[1]) == "bfloat16"
    assert variant_dtype({"llm_dtype": "bfloat16"}, parse_variant("fast:bf16=off")[1]) == "float32"
    assert variant_dtype({"llm_dtype": "float32"}, parse_variant("reference")[1]) == "float32"
    assert variant_dtype({}, parse_variant("fast")[1]) == "auto"
