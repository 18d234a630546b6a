"""What a user sees when a run cannot start, through EPyMARL's real `src/main.py`: the plugin's
message, naming the fix, is the last line printed (not a Sacred traceback after it), once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from epymarl_llm.epymarl import install as inst

from .conftest import subprocess_env, user_site


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, epymarl_master_copy):
    pytest.importorskip("smaclite", reason="SMAClite is not installed: pip install it from uoe-agents/smaclite")
    import shutil

    base = tmp_path_factory.mktemp("errors")
    dest, user_base = base / "epymarl", base / "userbase"
    shutil.copytree(epymarl_master_copy, dest)
    inst.install(dest, site_dir=user_site(user_base))
    return dest, user_base


def _main(checkout, updates: dict, config: str = "lolm_mappo", **env) -> tuple[int, list[str], float]:
    root, user_base = checkout
    argv = [
        sys.executable,
        "src/main.py",
        f"--config={config}",
        "--env-config=smaclite",
        "with",
        "env_args.map_name=3s5z",
        *[f"{k}={v}" for k, v in updates.items()],
    ]
    start = time.monotonic()
    proc = subprocess.run(
        argv, cwd=root, env=subprocess_env(user_base, **env), capture_output=True, text=True, check=False, timeout=300
    )
    # stderr is written after stdout by every message here: read them in that order.
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return proc.returncode, lines, time.monotonic() - start


def test_default_hub_model_without_network_fails_fast_with_the_fix_last(checkout):
    # HF_HUB_OFFLINE unset and an endpoint that refuses at once: a machine without network.
    code, lines, _wall = _main(checkout, {}, HF_HUB_OFFLINE="0", HF_ENDPOINT="http://127.0.0.1:9")
    assert code != 0
    text = "\n".join(lines)
    assert "IndexError" not in text and "Retry" not in text
    assert "cannot load llm_model='Qwen/Qwen3-0.6B': it is not in the Hugging Face cache" in text
    assert lines[-1].startswith("If you are offline or the model is not in the Hugging Face cache")
    assert "epymarl-llm make-tiny-model DIR" in lines[-1]


def test_invalid_value_is_printed_once(checkout, tiny_model_dir):
    code, lines, _ = _main(checkout, {"llm_model": tiny_model_dir, "lora_rank": 0})
    assert code != 0
    assert lines[-1].endswith("RunConfigError: invalid PolicyConfig value: lora_rank must be a positive integer; got 0")
    assert sum("lora_rank must be a positive integer" in line for line in lines) == 1


def test_misspelled_key_gets_did_you_mean(checkout, tiny_model_dir):
    code, lines, _ = _main(checkout, {"llm_model": tiny_model_dir, "lora_rnak": 4})
    assert code == 1
    assert lines[-1] == "lora_rnak: did you mean `lora_rank`?"


def test_checkpoint_folders_are_checked_before_epymarl_loads_them(checkout, tiny_model_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, lines, _ = _main(checkout, {"llm_model": tiny_model_dir, "checkpoint_path": empty})
    assert code == 1 and "max() arg is an empty sequence" not in "\n".join(lines)
    assert lines[-1].endswith(
        f"RunSetupError: checkpoint_path={str(empty)!r} holds no numbered step folders "
        "(the folder is empty). EPyMARL saves a checkpoint as numbered folders "
        "<checkpoint_path>/<t_env>/."
    )
    mappo = tmp_path / "mappo_token" / "100"
    mappo.mkdir(parents=True)
    for name in ("agent.th", "critic.th", "agent_opt.th", "critic_opt.th"):
        (mappo / name).write_bytes(b"")
    code, lines, _ = _main(checkout, {"llm_model": tiny_model_dir, "checkpoint_path": mappo.parent})
    assert code == 1
    assert f"RunSetupError: {mappo} is not a lolm_mappo checkpoint" in lines[-1]
    assert "policy_meta.json" in lines[-1] and "save_trainable" not in lines[-1]
    # A folder that does not exist: run.py would log it mid-run, train from scratch and exit 0.
    code, lines, _ = _main(checkout, {"llm_model": tiny_model_dir, "checkpoint_path": "no/such/folder"})
    assert code == 1 and "Beginning training" not in "\n".join(lines)
    assert "RunSetupError: checkpoint_path='no/such/folder' does not exist (relative to " in lines[-1]
    assert lines[-1].endswith("or leave it empty to train from scratch.")


def test_a_broken_torchvision_is_the_last_line_of_the_run(checkout, tiny_model_dir, tmp_path, monkeypatch):
    from tests.ux.test_load_errors import _broken_torchvision

    monkeypatch.setenv("PYTHONPATH", str(_broken_torchvision(tmp_path / "fakes")))
    code, lines, _ = _main(checkout, {"llm_model": tiny_model_dir})
    assert code != 0 and "Beginning training" not in "\n".join(lines)
    assert lines[-1] == "Fix: pip uninstall -y torchvision (or install the torchvision built for this torch)"
