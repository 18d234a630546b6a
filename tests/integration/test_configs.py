"""The yamls in config/: each builds its typed config, keys are known, defaults live in one place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from epymarl_llm import registry_names
from epymarl_llm import run_config as rc
from epymarl_llm.config_dataclass import yaml_value
from epymarl_llm_tools.commands import ablation_yamls as ablations
from epymarl_llm_tools.commands import leed_yamls as leed_configs

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
# The LEED yamls (a second method on the same parts) are checked by tests/leed/test_store_and_configs.py.
YAMLS = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if p.stem not in leed_configs.STEMS)
# What EPyMARL's run.py adds to args before the controller is built (3s5z-sized).
RUNTIME = {"n_agents": 8, "n_actions": 14, "state_shape": 216, "device": "cpu", "unique_token": "t"}
# EPyMARL default.yaml values of the keys the parts read (the real merge has them all).
EPYMARL_DEFAULTS = {
    "gamma": 0.99,
    "add_value_last_step": True,
    "grad_norm_clip": 10,
    "common_reward": True,
    "learner_log_interval": 2000,
    "use_cuda": False,
    "test_greedy": True,
}


def _parts_available() -> None:
    for part in rc.PARTS:
        try:
            rc.part_class(part)
        except (ImportError, AttributeError) as err:
            pytest.skip(f"the {part} part is not on this branch yet ({err})")


def _load(stem: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / f"{stem}.yaml").read_text())


def _args(stem: str, **overrides) -> dict:
    """EPyMARL's merge for `--config=<stem> --env-config=smaclite`, without EPyMARL (its defaults
    for the keys the plugin checks are those of default.yaml)."""
    return {
        **EPYMARL_DEFAULTS,
        "env": "smaclite",
        "env_args": {"map_name": "3s5z"},
        **_load(stem),
        **RUNTIME,
        **overrides,
    }


def test_every_config_is_the_main_one_or_a_generated_ablation():
    assert YAMLS == sorted([registry_names.MAIN_CONFIG, *ablations.ABLATIONS])


@pytest.mark.parametrize("stem", YAMLS)
def test_every_yaml_builds_its_typed_config(stem):
    _parts_available()
    cfg = rc.LolmRunConfig.from_args(_args(stem))
    assert cfg.policy.action_dim == 1024 and cfg.policy.llm_model == "Qwen/Qwen3-0.6B"
    if stem == "lolm_mappo":
        assert (cfg.learner.kl_mode, cfg.prompt.dynamic_prompt, cfg.policy.llm_init, cfg.policy.attack_keys) == (
            "anneal",
            True,
            "pretrained",
            "entity",
        )


@pytest.mark.parametrize("stem", YAMLS)
def test_every_yaml_key_is_epymarls_or_a_typed_config_field(stem):
    _parts_available()
    known = rc.EPYMARL_KEYS | set(rc.field_defaults())
    unknown = sorted(set(_load(stem)) - known)
    assert not unknown, f"{stem}.yaml declares keys no part reads (misspelled?): {unknown}"


def test_the_yaml_declares_every_plugin_key_with_the_dataclass_default():
    _parts_available()
    base = _load(registry_names.MAIN_CONFIG)
    for key, (part, default) in rc.plugin_keys().items():
        assert key in base, f"{key} ({part}) has no default in lolm_mappo.yaml: `with {key}=...` would be rejected"
        assert yaml_value(base[key]) == default, f"{key}: yaml {base[key]!r} != {part} default {default!r}"


@pytest.mark.parametrize("stem", sorted(ablations.ABLATIONS))
def test_ablation_files_are_generated_from_lolm_mappo_and_differ_only_in_the_ablated_keys(stem):
    base_text = (CONFIG_DIR / f"{registry_names.MAIN_CONFIG}.yaml").read_text()
    assert (CONFIG_DIR / f"{stem}.yaml").read_text() == ablations.render(base_text, stem), (
        "stale ablation: run `epymarl-llm configs`"
    )
    base, ablation = _load(registry_names.MAIN_CONFIG), _load(stem)
    changed = {k for k in base if base[k] != ablation.get(k)} | (set(ablation) - set(base))
    assert changed == {"name", *ablations.ABLATIONS[stem][1]}
    assert ablation["name"] == stem


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("llm_cpu_threads", 0, "llm_cpu_threads must be a positive integer or null"),
        ("mongo_url", "localhost:27017", "mongo_url must be a MongoDB URL"),
        ("mongo_timeout_s", -1, "mongo_timeout_s must be a number of seconds"),
        ("log_sample_prompts", 100, "log_sample_prompts must be an integer from 0 to 32"),
        ("runner", "parallel", "LoLM-MARL needs runner: 'lolm_episode' or 'lolm_parallel'"),
        ("action_selector", "multinomial", "needs action_selector: 'soft_policies'"),
        ("kl_mode", "sometimes", "kl_mode must be one of"),
        ("attack_keys", "both", "attack_keys"),
        ("lora_rank", 0, "lora_rank must be a positive integer"),
    ],
)
def test_invalid_values_are_rejected_with_a_message_naming_the_key(key, value, message):
    _parts_available()
    with pytest.raises(rc.RunConfigError, match=message):
        rc.LolmRunConfig.from_args(_args(registry_names.MAIN_CONFIG, **{key: value}))


def test_a_missing_plugin_key_asks_to_refresh_the_installed_yaml():
    _parts_available()
    args = _args(registry_names.MAIN_CONFIG)
    del args["log_sample_prompts"]
    with pytest.raises(
        rc.RunConfigError, match="missing LoLM-MARL config key.*log_sample_prompts.*epymarl-llm install"
    ):
        rc.LolmRunConfig.from_args(args)


def test_cpu_threads_default_to_every_core():
    assert rc.IntegrationConfig().cpu_threads == (os.cpu_count() or 1)
    assert rc.IntegrationConfig(llm_cpu_threads=3).cpu_threads == 3


def test_epymarl_keys_list_matches_the_checkout():
    from .conftest import epymarl_source

    config = epymarl_source() / "src" / "config"
    keys = set()
    for path in [config / "default.yaml", config / "algs" / "mappo.yaml", *sorted((config / "envs").glob("*.yaml"))]:
        keys |= set(yaml.safe_load(path.read_text()))
    assert keys == rc.EPYMARL_KEYS
