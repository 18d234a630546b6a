"""Registration in EPyMARL's registries: programmatic `register()` and the start-up import hook."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from epymarl_llm import registry_names
from epymarl_llm.epymarl import install as inst
from epymarl_llm.epymarl import registration

from .conftest import REPO_ROOT, subprocess_env, user_site
from .fake_epymarl import make_fake_epymarl

ALL_NAMES = {m: set(n) for m, n in registry_names.REGISTRY_NAMES.items()}


@pytest.fixture
def fake_registries(monkeypatch):
    modules = {}
    for module_name in registry_names.REGISTRY_NAMES:
        module = types.ModuleType(module_name)
        module.REGISTRY = {"builtin": object}
        monkeypatch.setitem(sys.modules, module_name, module)
        modules[module_name] = module
    return modules


def test_register_adds_every_plugin_name_once_and_keeps_the_builtins(fake_registries):
    added = registration.register()
    assert {m: set(n) for m, n in added.items()} == ALL_NAMES
    for module_name, module in fake_registries.items():
        assert set(module.REGISTRY) == {"builtin", *ALL_NAMES[module_name]}
    assert registration.register() == {m: [] for m in registry_names.REGISTRY_NAMES}, "second call adds nothing"
    registration.unregister()
    assert all(set(m.REGISTRY) == {"builtin"} for m in fake_registries.values())


def test_a_name_taken_by_someone_else_is_an_error(fake_registries):
    fake_registries["controllers"].REGISTRY[registry_names.MAC] = object
    with pytest.raises(registration.RegistrationError, match="REGISTRY\\['lolm_mac'\\] is already taken"):
        registration.register(["controllers"])


def test_entries_are_lazy_factories_that_name_their_target(fake_registries):
    registration.register()
    entry = fake_registries["controllers"].REGISTRY[registry_names.MAC]
    assert entry.__name__ == registry_names.MAC and registration.is_plugin_entry(entry)
    assert "epymarl_llm.epymarl.controller" in entry.__doc__


def _child(code: str, env: dict[str, str], cwd) -> dict:
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


REGISTRIES_CODE = """
import json, sys
sys.path.insert(0, 'src')
import controllers, learners, runners, modules.agents, modules.critics
print(json.dumps({m: sorted(sys.modules[m].REGISTRY) for m in
      ['controllers', 'learners', 'runners', 'modules.agents', 'modules.critics']}))
"""


def _assert_plugin_names(registries: dict, present: bool) -> None:
    for module_name, plugin_names in ALL_NAMES.items():
        assert (
            plugin_names <= set(registries[module_name]) if present else not plugin_names & set(registries[module_name])
        )


def test_hook_registers_only_in_installed_checkouts(tmp_path, user_base):
    installed = make_fake_epymarl(tmp_path / "installed")
    other = make_fake_epymarl(tmp_path / "other")
    inst.install(installed, site_dir=user_site(user_base))
    env = subprocess_env(user_base)
    _assert_plugin_names(_child(REGISTRIES_CODE, env, installed), present=True)
    _assert_plugin_names(_child(REGISTRIES_CODE, env, other), present=False)
    inst.uninstall(installed, site_dir=user_site(user_base))
    _assert_plugin_names(_child(REGISTRIES_CODE, env, installed), present=False)


def test_the_startup_hook_imports_nothing_heavy(tmp_path, user_base):
    inst.install(make_fake_epymarl(tmp_path / "e"), site_dir=user_site(user_base))
    code = (
        "import sys, json; print(json.dumps({'hook': any(type(f).__name__ == 'EpymarlRegistryFinder' "
        "for f in sys.meta_path), 'heavy': sorted(m for m in ('torch', 'transformers', 'peft', 'sacred', "
        "'yaml', 'numpy') if m in sys.modules)}))"
    )
    result = _child(code, subprocess_env(user_base), tmp_path)
    assert result == {"hook": True, "heavy": []}


def test_real_epymarl_registries_hold_the_plugin_names_after_install(epymarl_copy, user_base):
    inst.install(epymarl_copy, site_dir=user_site(user_base))
    registries = _child(REGISTRIES_CODE, subprocess_env(user_base), epymarl_copy)
    _assert_plugin_names(registries, present=True)
    assert {"basic_mac", "ppo_learner", "parallel", "episode", "rnn", "cv_critic"} <= {
        n for names_ in registries.values() for n in names_
    }, "EPyMARL's own entries stay"


def test_register_by_hand_in_real_epymarl(epymarl_copy):
    code = (
        f"import sys, json; sys.path.insert(0, {str(REPO_ROOT)!r}); sys.path.insert(0, 'src');"
        "from epymarl_llm.epymarl import register; added = register();"
        "import controllers; print(json.dumps({'added': added, 'mac': sorted(controllers.REGISTRY)}))"
    )
    result = _child(code, subprocess_env(epymarl_copy / "no-user-site"), epymarl_copy)
    assert {m: set(n) for m, n in result["added"].items()} == ALL_NAMES
    assert {"basic_mac", registry_names.MAC} <= set(result["mac"])


TARGET_CLASSES_CODE = """
import importlib, inspect, json, sys
sys.path.insert(0, {repo!r}); sys.path.insert(0, 'src')
from epymarl_llm.epymarl.registration import TARGETS
from runners.episode_runner import EpisodeRunner
from runners.parallel_runner import ParallelRunner
from learners.ppo_learner import PPOLearner
found = {{name: getattr(importlib.import_module(t.split(':')[0]), t.split(':')[1]) for name, t in TARGETS.items()}}
print(json.dumps({{'classes': {{n: inspect.isclass(c) for n, c in found.items()}},
                  'names': {{n: c.__name__ for n, c in found.items()}},
                  'statements': {{n: inspect.getsource(c).lstrip().startswith(('class ' + c.__name__ + '(', 'class ' + c.__name__ + ':'))
                                 for n, c in found.items()}},
                  'episode': issubclass(found['lolm_episode'], EpisodeRunner),
                  'parallel': issubclass(found['lolm_parallel'], ParallelRunner),
                  'mappo_leed': issubclass(found['mappo_leed_learner'], PPOLearner)}}))
"""


def test_every_registry_entry_names_a_class_written_out_in_its_module(epymarl_copy):
    """From a yaml value to its class in one step: each target is a `class` statement a search finds."""
    result = _child(
        TARGET_CLASSES_CODE.format(repo=str(REPO_ROOT)), subprocess_env(epymarl_copy / "no-user-site"), epymarl_copy
    )
    assert all(result["classes"].values()), result["classes"]
    assert result["episode"] and result["parallel"] and result["mappo_leed"]
    assert all(result["statements"].values()), result["statements"]
    assert result["names"] == {name: target.split(":")[1] for name, target in registration.TARGETS.items()}
