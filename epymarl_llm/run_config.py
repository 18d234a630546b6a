"""EPyMARL's flat `args` read once into the plugin's typed configs, with clear errors.

Every plugin key is flat in EPyMARL's args (so `with key=value` works) and is a field, of the same
name, of exactly one dataclass: `PolicyConfig`, `PromptConfig`, `LearnerConfig`, `CriticConfig`
(owned by their packages) or `IntegrationConfig` (here). Where defaults live: the dataclasses hold
them; `config/lolm_mappo.yaml` repeats them because Sacred rejects `with key=value` for undeclared
keys, and `tests/integration/test_configs.py` asserts that the yaml equals the dataclass defaults.

When: `run_config(args)` builds the `LolmRunConfig` the first time a component asks, which is the
controller (EPyMARL's run.py builds it once the env's sizes are on args), and keeps it on args as
`lolm_config`, as the runner publishes `lolm_layout`; the agent and the learner get the same object
and hand its parts on (policy -> `LlmPolicy`, prompt -> `PromptEncoder`, critic -> the critic).

Where: beside the learner, below the EPyMARL integration, because both the controller and the
learner read it. Each part's dataclass is named by "module:Class" (`PARTS`) and imported only when
a run config is built, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from epymarl_llm import registry_names
from epymarl_llm.config_dataclass import Says, config_dataclass, read_config
from epymarl_llm.config_errors import ConfigError
from epymarl_llm.mongo_url import check_url

if TYPE_CHECKING:
    from epymarl_llm.critic.config import CriticConfig
    from epymarl_llm.learner.config import LearnerConfig
    from epymarl_llm.policy.config import PolicyConfig
    from epymarl_llm.prompts.config import PromptConfig

# part -> "module:DataclassName"; one dataclass per part of the plugin.
PARTS: dict[str, str] = {
    "policy": "epymarl_llm.policy:PolicyConfig",
    "prompt": "epymarl_llm.prompts:PromptConfig",
    "learner": "epymarl_llm.learner:LearnerConfig",
    "critic": "epymarl_llm.critic:CriticConfig",
    "integration": "epymarl_llm.run_config:IntegrationConfig",
}

# Top-level keys of EPyMARL's default.yaml, algs/mappo.yaml and envs/*.yaml (uoe-agents/epymarl
# cbc38c0); tests check this list against the checkout in EPYMARL_PATH when there is one.
EPYMARL_KEYS = frozenset(
    {
        "action_selector",
        "add_value_last_step",
        "agent",
        "agent_output_type",
        "batch_size",
        "batch_size_run",
        "buffer_cpu_only",
        "buffer_size",
        "checkpoint_path",
        "common_reward",
        "critic_type",
        "entropy_coef",
        "env",
        "env_args",
        "epochs",
        "eps_clip",
        "evaluate",
        "gamma",
        "grad_norm_clip",
        "hidden_dim",
        "hypergroup",
        "label",
        "learner",
        "learner_log_interval",
        "load_step",
        "local_results_path",
        "log_interval",
        "lr",
        "mac",
        "mask_before_softmax",
        "name",
        "obs_agent_id",
        "obs_individual_obs",
        "obs_last_action",
        "optim_alpha",
        "optim_eps",
        "q_nstep",
        "render",
        "repeat_id",
        "reward_scalarisation",
        "runner",
        "runner_log_interval",
        "save_model",
        "save_model_interval",
        "save_replay",
        "standardise_returns",
        "standardise_rewards",
        "t_max",
        "target_update_interval_or_tau",
        "test_greedy",
        "test_interval",
        "test_nepisode",
        "use_cuda",
        "use_rnn",
        "use_tensorboard",
        "use_wandb",
        "wandb_mode",
        "wandb_project",
        "wandb_save_model",
        "wandb_team",
    }
)
# Set on args by EPyMARL's run.py from the env before the controller is built (never in a yaml).
EPYMARL_RUNTIME_KEYS = frozenset({"n_agents", "n_actions", "state_shape", "device", "unique_token"})

# EPyMARL keys whose value the plugin's components depend on.
REQUIRED_EPYMARL_VALUES: dict[str, tuple[object, ...]] = {
    "mac": (registry_names.MAC,),
    "agent": (registry_names.AGENT,),
    "runner": (registry_names.EPISODE_RUNNER, registry_names.PARALLEL_RUNNER),
    # EPyMARL's own selector samples from the mac's probabilities (test_actions: greedy, see controller).
    "action_selector": ("soft_policies",),
    "agent_output_type": ("pi_logits",),
}


# "sample": as EPyMARL's soft_policies selector (mappo); "greedy": argmax.
TEST_ACTIONS = ("sample", "greedy")


class RunConfigError(ConfigError):
    """A plugin key is missing from EPyMARL's args or has an invalid value (the message names its part)."""


@config_dataclass(RunConfigError, frozen=True)
class IntegrationConfig:
    """How the plugin runs inside EPyMARL.

    Args:
        llm_cpu_threads: torch CPU threads for the plugin (EPyMARL's `main.py` sets 1, which throttles
            an LLM on CPU); null = every core of the machine (`os.cpu_count()`).
        mongo_url: full `mongodb://user:password@host:port/?authSource=...` URL for Sacred's
            MongoObserver (credentials allowed; the password is masked in the stored config);
            null = no extra observer (Sacred's `-m HOST:PORT:DB` still works).
        mongo_db_name: database of that observer.
        mongo_timeout_s: seconds the pre-flight ping waits for any MongoDB observer before the run
            stops with a clear error.
        log_sample_prompts: how many sample prompts the runner records (Sacred artifact
            `sample_prompts.txt` and run info `lolm_sample_prompts`); 0 = none.
        log_sample_prompt_chars: each recorded prompt is cut to this many characters (MongoDB caps a
            run document at 16 MB).
        kl_in_transfer: keep the KL term when training starts from a checkpoint of another map
            (few-shot). False (the paper's setting, METHOD section 6): the learner turns the KL term
            off for such runs and says so; `kl_mode: none` turns it off for any run.
        progress_interval_s: seconds between progress lines in EPyMARL's console log: of the rollouts
            (episodes finished, env steps/s, agent-steps/s; `epymarl.progress`) and of the PPO updates
            (epoch and minibatch reached; `learner.update_progress`); 0 = none.
        test_actions: how test episodes pick actions. "sample" (default) draws from the policy, as
            EPyMARL's MAPPO does (its `soft_policies` selector ignores `test_greedy`), so the test
            win rates of `lolm_mappo` and `mappo` are measured the same way; "greedy" takes the most
            probable action. EPyMARL's `test_greedy` (True in every env yaml) is not read.
    """

    llm_cpu_threads: Annotated[
        int | None, Field(ge=1), Says("{key} must be a positive integer or null; got {value!r}")
    ] = None
    mongo_url: str | None = None
    mongo_db_name: Annotated[
        str, Field(min_length=1), Says("{key} must be a non-empty database name; got {value!r}")
    ] = "sacred"
    mongo_timeout_s: Annotated[
        float, Field(gt=0, le=120), Says("{key} must be a number of seconds in (0, 120]; got {value!r}")
    ] = 5.0
    log_sample_prompts: Annotated[
        int, Field(ge=0, le=32), Says("{key} must be an integer from 0 to 32; got {value!r}")
    ] = 3
    log_sample_prompt_chars: Annotated[
        int, Field(ge=100, le=100_000), Says("{key} must be an integer from 100 to 100000; got {value!r}")
    ] = 4000
    kl_in_transfer: Annotated[bool, Says("{key} must be True or False; got {value!r}")] = False
    progress_interval_s: Annotated[
        float,
        Field(ge=0),
        Says("{key} must be a number of seconds >= 0 (0 = no progress lines); got {value!r}"),
    ] = 30.0
    test_actions: Annotated[
        Literal["sample", "greedy"],
        Says("{key} must be one of " + ", ".join(map(repr, TEST_ACTIONS)) + "; got {value!r}"),
    ] = "sample"

    def __post_init__(self) -> None:
        if self.mongo_url is not None:
            try:
                check_url(self.mongo_url)
            except ValueError as err:
                raise RunConfigError(str(err)) from None

    @property
    def cpu_threads(self) -> int:
        return self.llm_cpu_threads or os.cpu_count() or 1


def part_class(part: str) -> type:
    module_name, attr = PARTS[part].split(":")
    return getattr(importlib.import_module(module_name), attr)


def field_defaults() -> dict[str, tuple[str, Any]]:
    """{key: (first part, dataclass default)} over every field of every part (MISSING: no default).

    A key may be a field of two parts (both read `max_prompts_per_forward`) only with one default.
    """
    keys: dict[str, tuple[str, Any]] = {}
    for part in PARTS:
        for f in fields(part_class(part)):
            default = (
                f.default
                if f.default is not MISSING
                else (f.default_factory() if f.default_factory is not MISSING else MISSING)
            )
            if f.name in keys and keys[f.name][1] != default:
                raise RunConfigError(
                    f"config key {f.name!r} has default {keys[f.name][1]!r} in {keys[f.name][0]} "
                    f"but {default!r} in {part}: one key, one default"
                )
            keys.setdefault(f.name, (part, default))
    return keys


def plugin_keys() -> dict[str, tuple[str, Any]]:
    """The keys the plugin adds to EPyMARL (not EPyMARL's own): every one needs a yaml default."""
    return {k: v for k, v in field_defaults().items() if k not in EPYMARL_KEYS | EPYMARL_RUNTIME_KEYS}


def _as_mapping(args: Mapping[str, Any] | SimpleNamespace) -> Mapping[str, Any]:
    return args if isinstance(args, Mapping) else vars(args)


@dataclass(frozen=True)
class LolmRunConfig:
    """The plugin's whole run configuration, read from EPyMARL's args (`run_config`)."""

    policy: PolicyConfig
    prompt: PromptConfig
    learner: LearnerConfig
    critic: CriticConfig
    integration: IntegrationConfig

    @classmethod
    def from_args(cls, args: Mapping[str, Any] | SimpleNamespace, check_epymarl: bool = True) -> LolmRunConfig:
        """Build every part; raise RunConfigError naming the key and the fix.

        A plugin key absent from args means the algorithm yaml in `src/config/algs/` is older than
        the installed plugin (or hand-written): `epymarl-llm install` refreshes it.
        """
        values = _as_mapping(args)
        if check_epymarl:
            for key, allowed in REQUIRED_EPYMARL_VALUES.items():
                if values.get(key) not in allowed:
                    choices = " or ".join(repr(a) for a in allowed)
                    raise RunConfigError(
                        f"LoLM-MARL needs {key}: {choices} (got {values.get(key)!r}); use --config=lolm_mappo "
                        "or one of its ablations, or fix the key in your yaml"
                    )
        parts = {}
        for part in PARTS:
            klass = part_class(part)
            problem = None
            try:
                parts[part] = read_config(klass, values, owner="LoLM-MARL", error=RunConfigError)
            except RunConfigError:
                raise
            except ConfigError as err:
                problem = str(err)
            if problem is not None:
                # Raised outside the `except`, unchained: the part's message is already complete,
                # and a chained one would print it twice.
                raise RunConfigError(f"invalid {klass.__name__} value: {problem}")
        return cls(**parts)


RUN_CONFIG_ATTR = "lolm_config"  # where the run's LolmRunConfig is kept on EPyMARL's args


def run_config(args: SimpleNamespace) -> LolmRunConfig:
    """The run's configuration: read from `args` by the first component that asks, then the same object.

    Raises:
        RunConfigError: a key missing or invalid, naming the key and the fix.
    """
    config = getattr(args, RUN_CONFIG_ATTR, None)
    if not isinstance(config, LolmRunConfig):
        config = LolmRunConfig.from_args(args)
        setattr(args, RUN_CONFIG_ATTR, config)
    return config


def complete_args(**keys: Any) -> SimpleNamespace:
    """EPyMARL-like args for a component built outside EPyMARL (benchmarks, tests): every key of the
    plugin's parts at its default, the EPyMARL values the plugin requires, then `keys`."""
    values = {key: default for key, (_, default) in field_defaults().items() if default is not MISSING}
    values.update({key: allowed[0] for key, allowed in REQUIRED_EPYMARL_VALUES.items()})
    values.update(keys)
    return SimpleNamespace(**values)
