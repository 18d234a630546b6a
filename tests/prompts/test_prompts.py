"""Hand-built observation rows (written by SMAC's own get_obs_agent) -> exact entities and prompt text."""

from __future__ import annotations

import numpy as np
import pytest

from epymarl_llm.prompts import (
    LayoutMismatchError,
    PromptConfig,
    PromptEncoder,
    example_prompts,
    load_map_layout,
    random_observations,
)
from epymarl_llm.prompts.template import GOAL, INSTRUCTION

from .sc2_oracle import Unit, observe, sc2_env

MAP = "3s5z_vs_3s6z"
PERCENT = PromptConfig(number_format="percent")  # the full punctuation: exact texts read easily


@pytest.fixture(scope="module")
def battle():
    """Agent 0 (Stalker, half health) at (10, 10); sight range 9, attack range 6."""
    allies = [
        Unit("Stalker", 10, 10, 0.5, 0.25),
        Unit("Stalker", 14.5, 10, 1.0, 0.5),  # 4.5 east
        Unit("Stalker", 3, 3, 0.0),  # dead
        Unit("Zealot", 10, 7.3, 0.8, 1.0),
    ]  # 2.7 south
    allies += [Unit("Zealot", 30, 30)] * 4  # alive, out of sight
    enemies = [
        Unit("Zealot", 10, 12.7, 0.4, 0.0),  # 2.7 north: in attack range
        Unit("Stalker", 2.8, 10),
    ]  # 7.2 west: seen, out of range
    enemies += [Unit("Zealot", 25, 25)] * 7
    return observe(sc2_env(MAP, allies, enemies))


def state_text(text: str) -> str:
    return text.split("Current game state:\n", 1)[1]


def test_dynamic_prompt_of_a_known_row(battle):
    obs, avail = battle
    text = PromptEncoder(load_map_layout(MAP), config=PERCENT).texts(obs[:1], avail[:1], [0])[0]
    assert text.startswith(INSTRUCTION) and GOAL in text  # instruction, goal, state, actions in order
    assert state_text(text) == (
        "Self: Ally 0 (Stalker): health 50, shield 25\n"
        "Can move: north, south, east, west\n"
        "Allies:\n"
        "Ally 1 (Stalker): distance 50, x 50, y 0, health 100, shield 50\n"
        "Ally 3 (Zealot): distance 30, x 0, y -30, health 80, shield 100\n"
        "Enemies:\n"
        "Enemy 0 (Zealot): distance 30, x 0, y 30, health 40, shield 0, in range\n"
        "Enemy 1 (Stalker): distance 80, x -80, y 0, health 100, shield 100, out of range\n"
        "Available actions:\nstop\nmove north\nmove south\nmove east\nmove west\nattack enemy 0\n"
        "Your action:"
    )


def test_compact_default_drops_only_what_the_prompt_says_elsewhere(battle):
    """number_format compact (default): no commas between fields, no "out of range", no "Can move"."""
    obs, avail = battle
    text = PromptEncoder(load_map_layout(MAP)).texts(obs[:1], avail[:1], [0])[0]
    assert "up to distance 67 (in range)" in text
    assert state_text(text) == (
        "Self: Ally 0 (Stalker): health 50 shield 25\n"
        "Allies:\n"
        "Ally 1 (Stalker): distance 50 x 50 y 0 health 100 shield 50\n"
        "Ally 3 (Zealot): distance 30 x 0 y -30 health 80 shield 100\n"
        "Enemies:\n"
        "Enemy 0 (Zealot): distance 30 x 0 y 30 health 40 shield 0 in range\n"
        "Enemy 1 (Stalker): distance 80 x -80 y 0 health 100 shield 100\n"
        "Available actions:\nstop\nmove north\nmove south\nmove east\nmove west\nattack enemy 0\n"
        "Your action:"
    )


def test_decimal_mode_is_the_papers_two_decimals(battle):
    obs, avail = battle
    enc = PromptEncoder(load_map_layout(MAP), config=PromptConfig(number_format="decimal"))
    text = state_text(enc.texts(obs[:1], avail[:1], [0])[0])
    assert "Ally 3 (Zealot): distance 0.30, x 0.00, y -0.30, health 0.80, shield 1.00\n" in text
    assert "Self: Ally 0 (Stalker): health 0.50, shield 0.25\n" in text


def test_fixed_prompt_keeps_every_slot(battle):
    obs, avail = battle
    text = state_text(
        PromptEncoder(load_map_layout(MAP), dynamic=False, config=PERCENT).texts(obs[:1], avail[:1], [0])[0]
    )
    lines = text.splitlines()
    assert [ln for ln in lines if ln.startswith("Ally ")] == [
        "Ally 1 (Stalker): distance 50, x 50, y 0, health 100, shield 50",
        "Ally 2: dead or out of sight",
        "Ally 3 (Zealot): distance 30, x 0, y -30, health 80, shield 100",
        *[f"Ally {a}: dead or out of sight" for a in range(4, 8)],
    ]
    assert sum(ln.startswith("Enemy ") for ln in lines) == 9
    assert "Enemy 8: dead or out of sight" in lines


def test_semantic_mapping_of_a_known_row(battle):
    obs, avail = battle
    sem = PromptEncoder(load_map_layout(MAP)).semantic(obs[0], 0, avail[0])
    assert (sem.self_unit.unit_name, sem.self_unit.health, sem.self_unit.shield) == ("Stalker", 0.5, 0.25)
    assert [(u.unit_id, u.unit_name, u.distance, u.rel_y) for u in sem.allies] == [
        (1, "Stalker", 0.5, 0.0),
        (3, "Zealot", 0.3, -0.3),
    ]
    assert [(u.unit_id, u.unit_name, u.attackable, u.health) for u in sem.enemies] == [
        (0, "Zealot", True, 0.4),
        (1, "Stalker", False, 1.0),
    ]
    assert sem.can_move == {"north": True, "south": True, "east": True, "west": True}


def test_ally_names_follow_the_observer(battle):
    """Agent 3 (a Zealot) sees agent 0 in its ally slot 0 and agent 1 in slot 1 (SMAC skips self)."""
    obs, avail = battle
    text = state_text(PromptEncoder(load_map_layout(MAP), config=PERCENT).texts(obs[3:4], avail[3:4], [3])[0])
    assert text.startswith("Self: Ally 3 (Zealot): health 80, shield 100\n")
    assert "Ally 0 (Stalker): distance 30, x 0, y 30, health 50, shield 25\n" in text


def test_dead_agent_reads_dead_and_only_no_op(battle):
    obs, avail = battle
    text = state_text(PromptEncoder(load_map_layout(MAP), config=PERCENT).texts(obs[2:3], avail[2:3], [2])[0])
    assert text == (
        "Self: Ally 2 (Stalker): dead\nCan move: nowhere\nAllies: none visible\n"
        "Enemies: none visible\nAvailable actions:\nno-op\nYour action:"
    )


def test_medivac_heals_allies_and_its_attackable_bit_is_not_read():
    allies = [
        Unit("Marauder", 10, 10),
        Unit("Marauder", 11, 10, 0.3),
        *[Unit("Marine", 30, 30)] * 7,
        Unit("Medivac", 10, 11, 0.9),
    ]
    enemies = [Unit("Marine", 13, 11, 0.5), *[Unit("Marine", 2, 30)] * 8, *[Unit("Marauder", 2, 2)] * 3]
    obs, avail = observe(sc2_env("MMM2", allies, enemies, obs_last_action=True))
    layout = load_map_layout("MMM2", env_args={"obs_last_action": True})
    text = state_text(PromptEncoder(layout, config=PERCENT).texts(obs[9:10], avail[9:10], [9])[0])
    assert text.startswith("Self: Ally 9 (Medivac): health 90\n")
    # enemy 0 is 3 away: SMAC's column 0 holds the Medivac's avail bit for healing ally 0, not "in range"
    assert "Enemy 0 (Marine): distance 33, x 33, y 0, health 50\n" in text
    assert text.endswith("heal ally 0\nheal ally 1\nYour action:")
    assert "attack enemy" not in text


def test_last_actions_and_timestep_are_read():
    allies = [Unit("Marine", 10, 10), Unit("Marine", 11, 10), Unit("Marine", 30, 30)]
    enemies = [Unit("Marine", 12, 10)] * 3
    env = sc2_env("3m", allies, enemies, obs_last_action=True, obs_timestep_number=True)
    env.last_action[1] = np.eye(env.n_actions)[6 + 2]
    env._episode_steps = 15
    obs, avail = observe(env)  # SMAC's rows are one column wider here (see test_layout)
    layout = load_map_layout("3m", env_args={"obs_last_action": True, "obs_timestep_number": True})
    text = state_text(PromptEncoder(layout, config=PERCENT).texts(obs[:1], avail[:1], [0])[0])
    assert "Ally 1 (Marine): distance 11, x 11, y 0, health 100, last action attack enemy 2\n" in text
    assert "Elapsed time 25\n" in text  # 15 / limit 60


def test_available_actions_are_exactly_avail():
    layout = load_map_layout("MMM2")
    obs, avail, ids = random_observations(layout, 60, seed=4)
    enc = PromptEncoder(layout)
    from epymarl_llm.prompts.template import action_name

    for r, text in enumerate(enc.texts(obs, avail, ids)):
        listed = text.split("Available actions:\n", 1)[1].split("\nYour action:")[0].split("\n")
        healer = layout.spec.is_healer(int(ids[r])) and avail[r, 1] == 1
        assert listed == [action_name(k, healer) for k in np.flatnonzero(avail[r])]


def test_type_bits_name_enemies_where_the_order_is_not_fixed():
    layout = load_map_layout(MAP)
    obs = np.zeros((1, layout.obs_size), np.float32)
    avail = np.zeros((1, layout.n_actions), np.int64)
    avail[0, 1] = 1
    ent = layout.obs.by_side("enemy")[4]
    obs[0, ent.column("distance")] = 0.5
    obs[0, ent.column("type_Stalker")] = 1  # enemy Stalker is bit 1 (get_unit_type_id: unit_type - 73)
    text = PromptEncoder(layout).texts(obs, avail, [0])[0]
    assert "Enemy 4 (Stalker): distance 50" in text


def test_smaclite_order_and_names():
    layout = load_map_layout("MMM2", env="smaclite")  # SMAClite's agent 0 is the Medivac
    assert layout.ally_unit_names[0] == "Medivac" and layout.spec.is_healer(0)
    assert "Self: Ally 0 (Medivac)" in example_prompts("MMM2", 20, env="smaclite")[0] or any(
        "Self: Ally 0 (Medivac)" in p for p in example_prompts("MMM2", 40, env="smaclite")
    )


def test_example_prompts_are_deterministic_and_cover_every_map():
    assert example_prompts("3s_vs_5z", 3, seed=1) == example_prompts("3s_vs_5z", 3, seed=1)
    assert example_prompts("3s_vs_5z", 3, seed=1) != example_prompts("3s_vs_5z", 3, seed=2)
    from epymarl_llm.prompts import map_names

    for env in ("sc2", "smaclite"):
        for name in map_names(env):
            assert len(example_prompts(name, 2, env=env)) == 2


def test_bad_rows_are_clear_errors():
    layout = load_map_layout("3m")
    enc = PromptEncoder(layout)
    avail = np.zeros((1, layout.n_actions))
    with pytest.raises(LayoutMismatchError, match=r"'3m'.*row has 31 values but the layout's obs size is 30"):
        enc.texts(np.zeros((1, 31)), avail, [0])
    with pytest.raises(LayoutMismatchError, match=r"avail must be \(M, n_actions\) = \(1, 9\)"):
        enc.texts(np.zeros((1, 30)), np.zeros((1, 8)), [0])
    with pytest.raises(ValueError, match="agent_ids must be"):
        enc.texts(np.zeros((1, 30)), avail, [3])
    bad = np.zeros((1, 30))
    bad[0, 4 + 1] = 2.5  # enemy 0 distance
    with pytest.raises(ValueError, match=r"value 2.5 in column 5 is outside \[-1, 1\]"):
        enc.texts(bad, avail, [0])


def test_prompt_config_rejects_bad_values():
    with pytest.raises(ValueError, match="number_format must be one of"):
        PromptConfig(number_format="hex")
    with pytest.raises(ValueError, match="dynamic_prompt must be True or False"):
        PromptConfig(dynamic_prompt="yes")


def _prefix(name: str, env: str = "sc2", number_format: str = "percent", **env_args) -> str:
    layout = load_map_layout(name, env=env, env_args=env_args)
    return PromptEncoder(layout, config=PromptConfig(number_format=number_format)).prefix_text


def test_elapsed_time_states_its_unit():
    assert "Elapsed time is in percent of the episode's step limit." in _prefix(MAP, obs_timestep_number=True)
    assert "fraction of the episode's step limit" in _prefix(MAP, number_format="decimal", obs_timestep_number=True)
    assert "Elapsed time" not in _prefix(MAP)


def test_the_medivac_goal_line_only_on_maps_with_a_healer():
    assert "Medivac" not in _prefix(MAP) and "Medivac" not in _prefix("3m")
    assert "A Medivac heals allies instead of attacking." in _prefix("MMM2")
    assert "attack or heal a target" in _prefix("MMM") and "attack or heal" not in _prefix(MAP)


def test_health_and_shield_only_where_observed():
    assert "health and shield are in percent of their maximum" in _prefix(MAP)
    assert "shield" not in _prefix("3m") and "health is in percent of its maximum" in _prefix("3m")
    assert "shield" not in _prefix("MMM2", env="smaclite")
    no_health = _prefix("3m", obs_all_health=False, obs_own_health=False)
    assert "health" not in no_health.split("Goal:")[0]  # (the goal's "low health" is advice, not a unit)


def test_shooting_and_heal_range_are_stated_in_the_distance_unit():
    assert "attack a target up to distance 67 (in range)" in _prefix(MAP)
    assert "up to distance 0.67" in _prefix(MAP, number_format="decimal")


def test_a_live_unit_below_half_a_percent_health_is_not_printed_as_zero(battle):
    obs, avail = battle
    layout = load_map_layout(MAP)
    row = obs[:1].copy()
    column = layout.enemy_offset + layout.enemy_features.index("health")  # enemy 0's health
    row[0, column] = 0.003  # alive, 0.3% health
    text = state_text(PromptEncoder(layout, config=PERCENT).texts(row, avail[:1], [0])[0])
    assert "Enemy 0 (Zealot): distance 30, x 0, y 30, health 1, shield 0, in range\n" in text
    assert "Enemy 0 (Zealot): distance 30 x 0 y 30 health 1 shield 0 in range\n" in state_text(
        PromptEncoder(layout).texts(row, avail[:1], [0])[0]
    )
    row[0, column] = 0.0
    assert "health 0," in state_text(PromptEncoder(layout, config=PERCENT).texts(row, avail[:1], [0])[0])
