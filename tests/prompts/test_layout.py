"""Layout columns against rows that SMAC's own get_obs_agent / get_state write; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from epymarl_llm.prompts import LayoutMismatchError, UnknownMapError, load_map_layout

from .sc2_oracle import Unit, observe, sc2_env


def test_columns_hold_what_smac_writes_there():
    # SMAC numbers allies by unit type: Stalkers are agents 0-2, Zealots 3-7.
    allies = [
        Unit("Stalker", 10, 10, 0.5, 0.25),
        Unit("Stalker", 12, 10),
        Unit("Stalker", 10, 13, 0.8, 0.4),
        Unit("Zealot", 11, 12),
    ]
    enemies = [Unit("Zealot", 14, 10, 0.6, 0.2), Unit("Stalker", 30, 30), Unit("Stalker", 11, 11, 0.9, 0.1)]
    allies += [Unit("Zealot", 2, 2, 0.0)] * 4  # dead allies: all-zero slots
    enemies += [Unit("Zealot", 2, 30, 0.0)] * 6
    env = sc2_env("3s5z_vs_3s6z", allies, enemies, obs_last_action=True, obs_timestep_number=True)
    env._episode_steps = 17
    env.last_action[2] = np.eye(env.n_actions)[7]
    obs, avail = observe(env)
    layout = load_map_layout("3s5z_vs_3s6z", env_args={"obs_last_action": True, "obs_timestep_number": True})
    row = obs[0]
    ents = {(e.side, e.slot): e for e in layout.obs_for_agent(0).entities}
    own = ents[("self", 0)]
    assert row[own.column("health")] == pytest.approx(0.5) and row[own.column("shield")] == pytest.approx(0.25)
    assert row[own.column("type_Stalker")] == 1 and row[own.column("type_Zealot")] == 0
    e0 = ents[("enemy", 0)]
    assert row[e0.column("distance")] == pytest.approx(4 / 9) and row[e0.column("rel_x")] == pytest.approx(4 / 9)
    assert row[e0.column("attackable")] == 1 and row[e0.column("health")] == pytest.approx(0.6)
    # enemy bits: Zealot is bit 0 for enemies (get_unit_type_id: unit_type - 73)
    assert row[e0.column("type_Zealot")] == 1 and row[e0.column("type_Stalker")] == 0
    assert row[ents[("enemy", 1)].offset : ents[("enemy", 1)].offset + e0.size].sum() == 0  # out of sight
    a2 = ents[("ally", 1)]  # agent 2 seen by agent 0
    assert a2.unit_id == 2 and a2.unit_name == "Stalker"
    assert row[a2.column("visible")] == 1 and row[a2.column("rel_y")] == pytest.approx(3 / 9)
    assert row[a2.column("type_Stalker")] == 1 and row[a2.column("last_action_7")] == 1
    assert row[a2.column("shield")] == pytest.approx(0.4)
    a3 = ents[("ally", 2)]
    assert a3.unit_name == "Zealot" and row[a3.column("type_Zealot")] == 1  # ally Zealot is bit 1
    # SMAC quirk: get_obs_own_feats_size counts the timestep, get_obs_agent zero-fills that own column
    # and then appends the timestep, so its rows are one wider than get_obs_size() says.
    assert row.shape == (layout.obs_size + 1,) and env.get_obs_size() == layout.obs_size
    assert row[layout.timestep_column] == 0 and row[-1] == pytest.approx(17 / 170)
    assert avail[0, 6 + 0] == 1 and avail[0, 6 + 1] == 0


def test_state_columns_hold_what_smac_writes_there():
    allies = [
        Unit("Marauder", 10, 10, 0.5),
        Unit("Marauder", 11, 10),
        *[Unit("Marine", 12, 12)] * 7,
        Unit("Medivac", 9, 9, 0.7),
    ]
    enemies = [Unit("Medivac", 20, 20, 0.3), *[Unit("Marine", 22, 22)] * 8, *[Unit("Marauder", 23, 23)] * 3]
    env = sc2_env("MMM2", allies, enemies, state_last_action=True, state_timestep_number=True)
    state = env.get_state()
    layout = load_map_layout("MMM2", env_args={"state_last_action": True, "state_timestep_number": True})
    assert state.shape == (layout.state_size,)
    medivac = layout.state.by_side("ally")[9]
    assert medivac.unit_name == "Medivac" and state[medivac.column("health")] == pytest.approx(0.7)
    assert state[medivac.column("type_Medivac")] == 1
    enemy0 = layout.state.by_side("enemy")[0]
    assert enemy0.unit_name is None  # SMAC's enemy order is the game's: the bits name it
    assert state[enemy0.column("type_Medivac")] == 1 and state[enemy0.column("health")] == pytest.approx(0.3)


def test_unknown_map_is_a_clear_error():
    with pytest.raises(UnknownMapError, match="unknown SMAC map '4m'.*3s5z"):
        load_map_layout("4m")
    with pytest.raises(UnknownMapError, match="SMAClite presets are .*--map-file"):
        load_map_layout("3m", env="smaclite")
    with pytest.raises(ValueError, match="env must be one of"):
        load_map_layout("3m", env="sc3")


def test_layout_env_mismatch_names_map_and_sizes():
    layout = load_map_layout("3s5z")
    layout.check_env(layout.obs_size, (layout.state_size,), layout.n_actions)
    with pytest.raises(LayoutMismatchError, match=r"'3s5z' \(sc2\).*obs size: layout 128, env 150.*obs_all_health"):
        layout.check_env(150, layout.state_size)
    with pytest.raises(LayoutMismatchError, match="state size: layout 216, env 100"):
        layout.check_env(128, 100)


def test_env_args_are_read_and_checked():
    assert load_map_layout(
        "3m", env_args={"obs_last_action": "True", "map_name": "3m", "seed": 3}
    ).flags.obs_last_action
    with pytest.raises(ValueError, match="obs_last_action must be True or False"):
        load_map_layout("3m", env_args={"obs_last_action": "maybe"})
    with pytest.raises(ValueError, match="SMAClite has no layout options.*obs_timestep_number"):
        load_map_layout("MMM", env="smaclite", env_args={"obs_timestep_number": True})
    with pytest.raises(ValueError, match="map_file is a SMAClite option"):
        load_map_layout("3m", env="sc2", map_file="x.json")


def test_obs_instead_of_state_concatenates_observations():
    layout = load_map_layout("3m", env_args={"obs_instead_of_state": True})
    assert layout.state_size == 3 * layout.obs_size
    assert [e.offset for e in layout.state.entities] == [0, layout.obs_size, 2 * layout.obs_size]
