"""Put the plugin's components into EPyMARL's registries (plain dicts, read in `run.run_sequential`).

Entries are lazy factories: importing EPyMARL's registries stays as cheap as before, and torch,
transformers and peft load only when a run actually asks for `lolm_mac`, `lolm_ppo_learner`, ...
Registration is idempotent; a name already taken by something that is not the plugin's is an error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from epymarl_llm import registry_names

_PLUGIN_FLAG = "_epymarl_llm_component"


class RegistrationError(RuntimeError):
    """A plugin name is already registered by someone else in an EPyMARL registry."""


def _lazy(target: str, name: str) -> Callable[..., Any]:
    """A factory that imports `module:attr` on first call and calls it with EPyMARL's arguments."""
    module_name, attr = target.split(":")

    def factory(*args: Any, **kwargs: Any) -> Any:
        component = getattr(importlib.import_module(module_name), attr)
        return component(*args, **kwargs)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"epymarl-llm component {name!r} (lazily imports {target})."
    setattr(factory, _PLUGIN_FLAG, target)
    return factory


# name -> "module:class" built when EPyMARL calls the registry entry: from a yaml value
# (`runner: lolm_parallel`, ...) to its class in one step.
TARGETS: dict[str, str] = {
    registry_names.MAC: "epymarl_llm.epymarl.controller:LolmMAC",
    registry_names.AGENT: "epymarl_llm.epymarl.agent:LolmAgent",
    registry_names.LEARNER: "epymarl_llm.learner:LolmPPOLearner",
    registry_names.LEED_LEARNER: "epymarl_llm.leed.lolm_learner:LolmLeedLearner",
    # Subclasses of EPyMARL's PPOLearner and runners: their modules import EPyMARL's from the
    # user's checkout, so they load only here, when the run builds them.
    registry_names.MAPPO_LEED_LEARNER: "epymarl_llm.leed.mappo_leed_learner:MappoLeedLearner",
    registry_names.CRITIC: "epymarl_llm.critic:EpymarlTransformerCritic",
    registry_names.EPISODE_RUNNER: "epymarl_llm.epymarl.runner_classes:LolmEpisodeRunner",
    registry_names.PARALLEL_RUNNER: "epymarl_llm.epymarl.runner_classes:LolmParallelRunner",
}


def is_plugin_entry(value: object) -> bool:
    return getattr(value, _PLUGIN_FLAG, None) is not None


def register_module(module_name: str, module: ModuleType) -> list[str]:
    """Add the plugin's entries to `module.REGISTRY` (an EPyMARL registry module); returns the names added."""
    registry = getattr(module, "REGISTRY", None)
    if not isinstance(registry, dict):
        raise RegistrationError(f"EPyMARL module {module_name!r} has no REGISTRY dict; is this an EPyMARL checkout?")
    added = []
    for name in registry_names.REGISTRY_NAMES[module_name]:
        current = registry.get(name)
        if current is not None and not is_plugin_entry(current):
            raise RegistrationError(
                f"{module_name}.REGISTRY[{name!r}] is already taken by {current!r}; remove that entry "
                "from your EPyMARL checkout or rename it"
            )
        if current is None:
            added.append(name)
        registry[name] = _lazy(TARGETS[name], name)
    return added


def register(modules: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Register the plugin in EPyMARL's registries, importing them from `sys.path`.

    EPyMARL's `src/` must be importable (it is when running `src/main.py`; tests put it on
    `sys.path`). Safe to call many times. Returns {registry module: names newly added}.
    """
    result = {}
    for module_name in modules or registry_names.REGISTRY_NAMES:
        if module_name not in registry_names.REGISTRY_NAMES:
            raise ValueError(
                f"unknown EPyMARL registry module {module_name!r}; choose from {list(registry_names.REGISTRY_NAMES)}"
            )
        try:
            module = sys.modules.get(module_name) or importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            raise RegistrationError(
                f"cannot import EPyMARL's {module_name!r} ({err}); put the checkout's src/ folder on sys.path"
            ) from err
        result[module_name] = register_module(module_name, module)
    return result


def unregister(modules: Iterable[str] | None = None) -> None:
    """Remove the plugin's entries from already-imported EPyMARL registries (tests, notebooks)."""
    for module_name in modules or registry_names.REGISTRY_NAMES:
        module = sys.modules.get(module_name)
        registry = getattr(module, "REGISTRY", None)
        if isinstance(registry, dict):
            for name in registry_names.REGISTRY_NAMES[module_name]:
                if is_plugin_entry(registry.get(name)):
                    del registry[name]
