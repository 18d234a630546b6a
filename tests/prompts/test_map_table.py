"""The map table against SMAC's registry and StarCraft2Env sizes, and SMAClite's presets/env sizes.

When SMAC (oxwhirl/smac, from its repository) or SMAClite is not importable these tests skip;
the layout code never imports either.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from epymarl_llm.prompts import load_map_layout, map_names
from epymarl_llm.prompts.sc2_maps import SC2_MAPS, SC2_RACES
from epymarl_llm.prompts.smaclite_maps import SMACLITE_PRESETS

FLAG_KEYS = (
    "obs_all_health",
    "obs_own_health",
    "obs_last_action",
    "obs_pathing_grid",
    "obs_terrain_height",
    "obs_timestep_number",
    "state_last_action",
    "state_timestep_number",
    "obs_instead_of_state",
)

# Standard SC2 unit type ids (pysc2.lib.units), which SMAC uses for enemies.
SC2_UNIT_IDS = {
    "Marine": 48,
    "Marauder": 51,
    "Medivac": 54,
    "Zealot": 73,
    "Stalker": 74,
    "Colossus": 4,
    "Zergling": 105,
    "Baneling": 9,
    "Hydralisk": 107,
    "Spine Crawler": 98,
}


def _smac():
    pytest.importorskip("pysc2", reason="SMAC needs pysc2 (pip install pysc2)")
    return pytest.importorskip("smac.env", reason="SMAC (oxwhirl/smac, from its repository) is not installed")


def test_table_rows_equal_smac_registry():
    _smac()
    from smac.env.starcraft2.maps import smac_maps

    registry = smac_maps.get_smac_map_registry()
    assert set(SC2_MAPS) == set(registry)
    for name, params in registry.items():
        spec = SC2_MAPS[name]
        assert (spec.n_agents, spec.n_enemies, spec.episode_limit) == (
            params["n_agents"],
            params["n_enemies"],
            params["limit"],
        )
        assert SC2_RACES[name] == (params["a_race"], params["b_race"])
        assert spec.unit_type_bits == params["unit_type_bits"], name
        assert spec.map_type == params["map_type"]


@pytest.mark.parametrize("name", sorted(SC2_MAPS))
def test_sizes_equal_starcraft2env_for_every_flag_combination(name):
    env_mod = _smac()
    for combo in itertools.product((False, True), repeat=len(FLAG_KEYS)):
        args = dict(zip(FLAG_KEYS, combo, strict=True))
        env = env_mod.StarCraft2Env(map_name=name, **args)
        layout = load_map_layout(name, env_args=args)
        assert (layout.obs_size, layout.state_size, layout.n_actions) == (
            env.get_obs_size(),
            env.get_state_size(),
            env.get_total_actions(),
        ), (name, args)
        n_en, f_en = env.get_obs_enemy_feats_size()
        n_al, f_al = env.get_obs_ally_feats_size()
        assert (layout.enemy_feats, layout.ally_feats) == (f_en, f_al)
        assert len(layout.move_features) == env.get_obs_move_feats_size()
        # SMAC counts the timestep column among the own features.
        assert layout.own_feats + (layout.timestep_column is not None) == env.get_obs_own_feats_size()
        if not args["obs_instead_of_state"]:
            ally_state = layout.state.by_side("ally")[0]
            enemy_state = layout.state.by_side("enemy")[0]
            # names of StarCraft2Env's state attributes, as it reports them in get_env_info
            assert len(ally_state.features) == len(env.ally_state_attr_names)
            assert len(enemy_state.features) == len(env.enemy_state_attr_names)


@pytest.mark.parametrize("map_type", ["stalkers_and_zealots", "colossi_stalkers_zealots", "MMM", "bane"])
def test_type_bit_meaning_follows_get_unit_type_id(map_type):
    env_mod = _smac()
    name = next(n for n, s in SC2_MAPS.items() if s.map_type == map_type)
    spec = SC2_MAPS[name]
    env = env_mod.StarCraft2Env(map_name=name)
    env._init_ally_unit_types(1970)  # any id: SMAC's RL ally types are custom, numbered from the minimum
    for bit, unit in enumerate(spec.ally_type_names):
        ally = SimpleNamespace(unit_type=getattr(env, unit.lower() + "_id"))
        assert env.get_unit_type_id(ally, True) == bit, (unit, "ally")
    for bit, unit in enumerate(spec.enemy_type_names):
        enemy = SimpleNamespace(unit_type=SC2_UNIT_IDS[unit])
        assert env.get_unit_type_id(enemy, False) == bit, (unit, "enemy")
    # Allies are sorted by unit type (init_units), so agent order is ally type-bit order.
    order = [spec.ally_type_names.index(u) for u in spec.ally_units]
    assert order == sorted(order)


def test_compositions_equal_smac_documentation():
    env_mod = _smac()
    doc = Path(env_mod.__file__).resolve().parents[2] / "docs" / "smac.md"
    if not doc.is_file():
        # A wheel of SMAC (CI's) ships no docs: the table is in its source checkout only.
        pytest.skip(f"SMAC's docs/smac.md is in a source checkout only, not next to this install ({doc})")
    plural = {
        "Marines": "Marine",
        "Stalkers": "Stalker",
        "Zealots": "Zealot",
        "Colossi": "Colossus",
        "Medivac": "Medivac",
        "Marauders": "Marauder",
        "Hydralisks": "Hydralisk",
        "Zerglings": "Zergling",
        "Banelings": "Baneling",
        "Spine Crawler": "Spine Crawler",
        "Zealot": "Zealot",
    }

    def parse(cell):
        return {
            plural[m.group(2).strip()]: int(m.group(1))
            for m in re.finditer(r"(\d+) ([A-Za-z ]+?)(?=,|&|$)", cell.strip())
        }

    rows = [line.split("|")[1:4] for line in doc.read_text().splitlines() if re.match(r"^\|\s*\w", line)]
    seen = set()
    for cells in rows:
        name = cells[0].strip().replace("so_many_banelings", "so_many_baneling")
        if name not in SC2_MAPS:
            continue
        seen.add(name)
        spec = SC2_MAPS[name]
        assert {u: spec.ally_units.count(u) for u in set(spec.ally_units)} == parse(cells[1]), name
        assert {u: spec.enemy_units.count(u) for u in set(spec.enemy_units)} == parse(cells[2]), name
    assert seen == set(SC2_MAPS)


def _smaclite():
    return pytest.importorskip("smaclite.env.smaclite", reason="SMAClite (uoe-agents/smaclite) is not installed")


def _unit_name(unit) -> str:
    return unit.type.stats.name.replace("_", " ").title()


def test_smaclite_presets_equal_smaclite_env():
    mod = _smaclite()
    from smaclite.env.maps.map import MapPreset

    assert {p.value.name for p in MapPreset} == set(SMACLITE_PRESETS)
    for preset in MapPreset:
        env = mod.SMACliteEnv(map_info=preset.value, seed=0)
        env.reset(seed=0)
        layout = load_map_layout(preset.value.name, env="smaclite")
        layout.check_env(env.obs_size, env.state_size, env.n_actions)
        assert layout.ally_unit_names == tuple(_unit_name(env.agents[i]) for i in range(env.n_agents))
        assert layout.enemy_unit_names == tuple(_unit_name(env.enemies[j]) for j in range(env.n_enemies))


def test_smaclite_map_file_with_custom_units(tmp_path):
    """A custom JSON map with a custom damage unit and a custom healer, parsed without SMAClite."""
    units = tmp_path / "units"
    units.mkdir()
    base = {
        "hp": 45,
        "armor": 0,
        "damage": 6,
        "cooldown": 1,
        "speed": 3,
        "attack_range": 5,
        "size": 1,
        "attributes": ["LIGHT"],
        "valid_targets": ["GROUND"],
    }
    (units / "heavy_gunner.json").write_text(json.dumps(base))
    (units / "field_medic.json").write_text(
        json.dumps({**base, "combat_type": "HEALING", "energy": 100, "targeter": "HEAL", "damage": 0})
    )
    map_file = tmp_path / "medics.json"
    map_file.write_text(
        json.dumps(
            {
                "name": "medics_vs_marines",
                "custom_unit_path": str(units),
                "num_allied_units": 7,
                "num_enemy_units": 4,
                "groups": [
                    {"x": 9, "y": 16, "faction": "ALLY", "units": {"heavy_gunner": 5, "field_medic": 2}},
                    {"x": 23, "y": 16, "faction": "ENEMY", "units": {"MARINE": 4}},
                ],
                "attack_point": [9, 16],
                "terrain_preset": "SIMPLE",
                "num_unit_types": 0,
                "ally_has_shields": False,
                "enemy_has_shields": False,
            }
        )
    )
    layout = load_map_layout(None, env="smaclite", map_file=map_file)
    assert layout.map_name == "medics_vs_marines"
    assert layout.ally_unit_names == ("Heavy Gunner",) * 5 + ("Field Medic",) * 2
    assert [layout.spec.is_healer(a) for a in range(7)] == [False] * 5 + [True] * 2
    # SMACliteEnv.__init__: 6 + max(n_agents - n_healers, n_enemies) = 6 + 5
    assert layout.n_actions == 11
    # 4 move + 4 enemies x 5 + 6 allies x 5 + own 1
    assert layout.obs_size == 4 + 4 * 5 + 6 * 5 + 1
    mod = pytest.importorskip(
        "smaclite.env.smaclite", reason="SMAClite is not installed: the parse is checked without it"
    )
    env = mod.SMACliteEnv(map_file=str(map_file), seed=0)
    layout.check_env(env.obs_size, env.state_size, env.n_actions)


def test_every_smaclite_preset_file_parses_like_the_table():
    mod = _smaclite()
    maps_dir = Path(mod.__file__).parent / "maps" / "smaclite_maps"
    for path in sorted(maps_dir.glob("*.json")):
        data = json.loads(path.read_text())
        if "custom_unit_path" in data:
            continue  # the example map's custom unit is resolved against SMAClite's repository root
        from_file = load_map_layout(None, env="smaclite", map_file=path)
        preset = load_map_layout(data["name"], env="smaclite")
        assert from_file.spec.ally_units == preset.spec.ally_units and from_file.obs_size == preset.obs_size
        assert from_file.state_size == preset.state_size and from_file.n_actions == preset.n_actions


def test_map_names_cover_both_registries():
    assert "3s5z_vs_3s6z" in map_names("sc2") and "MMM2" in map_names("smaclite")
    assert len(map_names("sc2")) == 23 and len(map_names("smaclite")) == 12
