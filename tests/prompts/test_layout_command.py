"""`epymarl-llm layout` and the prompt-speed benchmark, run through their entry points."""

from __future__ import annotations

import json
import subprocess
import sys

from epymarl_llm_tools import cli


def test_layout_prints_sizes_entities_and_features(capsys):
    assert cli.main(["layout", "3s5z_vs_3s6z", "--env", "sc2"]) == 0
    out = capsys.readouterr().out
    assert "map 3s5z_vs_3s6z (sc2): 8 agents, 9 enemies, 15 actions" in out
    assert "observation: 136 values" in out and "state: 230 values" in out
    assert "type bits: allies ['Stalker', 'Zealot'], enemies ['Zealot', 'Stalker']" in out
    assert "self 0             Stalker" in out and "health@132" in out


def test_layout_defaults_to_smaclite_and_falls_back_to_smac_with_a_note(capsys):
    # SMAClite is the default env everywhere (README, install's hint, the configs).
    assert cli.main(["layout", "3s5z"]) == 0
    assert capsys.readouterr().out.startswith("map 3s5z (smaclite): ")
    assert cli.main(["layout", "6h_vs_8z"]) == 0  # a SMAC map that SMAClite has no preset of
    captured = capsys.readouterr()
    assert captured.out.startswith("map 6h_vs_8z (sc2): ")
    assert "6h_vs_8z is not a SMAClite map; this is SMAC's (sc2) layout" in captured.err


def test_layout_json_holds_the_contract_fields(capsys):
    args = [
        "layout",
        "MMM2",
        "--env",
        "sc2",
        "--json",
        "--env-arg",
        "obs_last_action=True",
        "--example-prompt",
        "--agent",
        "9",
    ]
    assert cli.main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert {k: data[k] for k in ("obs_size", "n_actions", "n_agents", "n_enemies")} == {
        "obs_size": 4 + 12 * 8 + 9 * (8 + 18) + 4,
        "n_actions": 18,
        "n_agents": 10,
        "n_enemies": 12,
    }
    assert data["state_size"] > 0 and data["healers"] == [9]
    assert {e["side"] for e in data["entities"]} == {"move", "enemy", "ally", "self"}
    own = next(e for e in data["entities"] if e["side"] == "self")
    assert own["unit_name"] == "Medivac" and own["features"]["type_Medivac"] == own["offset"] + 3  # health, then 3 bits
    assert data["example_prompt"].split("Current game state:\n")[1].startswith("Self: Ally 9 (Medivac)")


def test_layout_of_a_smaclite_map_file(capsys, tmp_path):
    (tmp_path / "m.json").write_text(
        json.dumps(
            {
                "name": "4m_vs_5z",
                "num_allied_units": 4,
                "num_enemy_units": 5,
                "groups": [
                    {"x": 9, "y": 16, "faction": "ALLY", "units": {"MARINE": 4}},
                    {"x": 23, "y": 16, "faction": "ENEMY", "units": {"ZEALOT": 5}},
                ],
                "attack_point": [9, 16],
                "terrain_preset": "SIMPLE",
                "num_unit_types": 0,
                "ally_has_shields": False,
                "enemy_has_shields": True,
            }
        )
    )
    assert cli.main(["layout", "--map-file", str(tmp_path / "m.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["env"], data["map_name"], data["obs_size"]) == ("smaclite", "4m_vs_5z", 4 + 5 * 6 + 3 * 5 + 1)
    assert data["enemy_unit_names"] == ["Zealot"] * 5


def test_layout_errors_are_clear(capsys):
    assert cli.main(["layout", "4m"]) == 2
    assert "unknown SMAC map '4m'" in capsys.readouterr().err
    assert cli.main(["layout", "3m", "--env-arg", "obs_lastaction=1"]) == 2
    assert "does not change the layout" in capsys.readouterr().err
    assert cli.main(["layout", "--map-file", "/nonexistent.json"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_layout_command_does_not_import_torch():
    code = (
        "import sys; from epymarl_llm_tools import cli; cli.main(['layout', '3m', '--example-prompt']); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_prompt_speed_benchmark_prints_its_figures():
    out = subprocess.run(
        [sys.executable, "-m", "epymarl_llm_tools", "bench", "prompts", "--steps", "2", "--envs", "2"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "2 envs x 8 agents = 16 prompts per step" in out and "fast path: True" in out
    assert "ms median" in out and "prompt length in tokens: min" in out
