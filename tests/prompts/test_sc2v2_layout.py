"""SMACv2 layouts against SMACv2's own code: every scenario yaml EPyMARL ships, and every layout flag.

Each check builds SMACv2's StarCraftCapabilityEnvWrapper from the scenario's env args, places units
(tests/prompts/sc2v2_oracle.py), lets SMACv2's get_obs_agent / get_state write the rows, and
compares every column with the value the layout says belongs there, and every column name with
SMACv2's own get_obs_feature_names / get_state_feature_names. Skips with the reason when SMACv2
(or pysc2, or EPyMARL's configs) is absent.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import numpy as np
import pytest

from epymarl_llm.prompts import PromptEncoder, load_map_layout, map_names
from epymarl_llm.prompts.sc2v2_maps import (
    SC2V2_SCENARIOS,
    draw_teams,
    scenario_env_args,
)
from tests.prompts.sc2v2_oracle import Unit, observe, sc2v2_env, smacv2


def _configs_dir() -> Path:
    return Path(os.environ.get("EPYMARL_PATH", "")) / "src" / "config" / "envs" / "smacv2_configs"


def _yaml_scenarios() -> dict[str, dict]:
    yaml = pytest.importorskip("yaml")
    d = _configs_dir()
    if not d.is_dir():
        pytest.skip(f"EPyMARL's smacv2_configs are not at {d} (set EPYMARL_PATH)")
    return {p.stem: yaml.safe_load(p.read_text())["env_args"] for p in sorted(d.glob("*.yaml"))}


def test_table_equals_epymarl_scenario_yamls():
    scenarios = _yaml_scenarios()
    assert set(scenarios) == set(SC2V2_SCENARIOS) == set(map_names("sc2v2"))
    for name, args in scenarios.items():
        ours = SC2V2_SCENARIOS[name]
        for key, value in ours.items():
            assert args[key] == value, (name, key)


def _units(layout, args, rng) -> tuple[list[Unit], list[Unit]]:
    """One episode's team (drawn like SMACv2) placed around the centre: some in sight, some not, one dead."""
    allies, enemies = draw_teams(args, rng)
    shielded = layout.spec.ally_shields

    def place(names, x0):
        out = []
        for k, name in enumerate(names):
            out.append(
                Unit(
                    name,
                    x0 + rng.uniform(-3, 3) + (k % 3) * 2.5,
                    16 + rng.uniform(-6, 6),
                    health=round(rng.uniform(0.2, 1.0), 3),
                    shield=round(rng.uniform(0, 1), 3) if shielded else 0,
                    cooldown=round(rng.uniform(0, 1), 3),
                )
            )
        return out

    a, e = place(allies, 12), place(enemies, 19)
    a[-1].health = 0.0  # a dead ally
    e[0].health = 0.0  # a dead enemy
    return a, e


def _expected_obs(env, layout, agent_id, avail_true, x_units) -> dict[int, float]:
    """Column -> value, from the unit records and SMACv2's documented formulas."""
    if env.agents[agent_id].health <= 0:
        return {c: 0.0 for c in range(layout.obs_size - (layout.timestep_column is not None))}
    avail = env.get_avail_agent_actions(agent_id)
    out: dict[int, float] = {}
    for ent in layout.obs_for_agent(agent_id).entities:
        for i, f in enumerate(ent.features):
            out[ent.offset + i] = float(_expected_value(env, layout, agent_id, avail, avail_true, x_units, ent, f))
    return out


def _expected_value(env, layout, agent_id, avail, avail_true, x_units, ent, f) -> float:
    """One observation column: feature `f` of entity `ent`."""
    if ent.side == "move":
        if f.startswith("move_"):
            return avail[2 + ("north", "south", "east", "west").index(f[5:])]
        return 1.0 if f.startswith("pathing_") else 0.0
    if ent.side in ("enemy", "ally"):
        return _expected_unit_value(env, layout, agent_id, avail_true, x_units, ent, f)
    if ent.side == "self":
        return _expected_self_value(env, layout, agent_id, x_units[0], f)
    if ent.side == "timestep":
        return env._episode_steps / env.episode_limit
    return 0.0


def _seen(env, layout, agent_id, unit) -> bool:
    """Whether `agent_id` sees `unit`: in its cone with conic_fov, else within its sight range."""
    if layout.flags.conic_fov:
        return env.is_position_in_cone(agent_id, unit.pos)
    me = env.agents[agent_id]
    return math.hypot(unit.pos.x - me.pos.x, unit.pos.y - me.pos.y) < env.unit_sight_range(agent_id)


def _expected_unit_value(env, layout, agent_id, avail_true, x_units, ent, f) -> float:
    """An enemy's or ally's column: zero unless the unit is alive and seen."""
    u = env.enemies[ent.unit_id] if ent.side == "enemy" else env.agents[ent.unit_id]
    if not (u.health > 0 and _seen(env, layout, agent_id, u)):
        return 0.0
    # StarCraft2Env.get_obs_agent: a masked enemy shows where it is, not its health or type
    hidden = ent.side == "enemy" and env.mask_enemies and env.enemy_mask[agent_id][ent.unit_id]
    if hidden and f not in ("attackable", "distance", "rel_x", "rel_y"):
        return 0.0
    if f.startswith("last_action_"):
        return env.last_action[ent.unit_id][int(f.rsplit("_", 1)[1])]
    caps, me, sr = layout.capabilities, env.agents[agent_id], env.unit_sight_range(agent_id)
    allies, enemies = x_units
    name = (enemies if ent.side == "enemy" else allies)[ent.unit_id].name
    ak = ent.unit_id if ent.side == "ally" else 0  # ally-only features read agent arrays
    dx, dy = u.pos.x - me.pos.x, u.pos.y - me.pos.y
    hl = env.agent_health_levels[ent.unit_id] if ent.side == "ally" else 0.0
    health = u.health / u.health_max
    if ent.side == "ally" and caps.health:
        health = (health - hl) / (1 - hl) if env.observe_teammate_health else 0.0
    types_seen = ent.side == "enemy" or caps.observe_types
    return {
        "attackable": avail_true[env.n_actions_no_attack + ent.unit_id],
        "visible": 1.0,
        "distance": math.hypot(dx, dy) / sr,
        "rel_x": dx / sr,
        "rel_y": dy / sr,
        "health": health,
        "shield": u.shield / u.shield_max if u.shield_max else 0.0,
        "attack_probability": env.agent_attack_probabilities[ak] if caps.attack and env.observe_attack_probs else 0.0,
        "health_level": hl if caps.health and env.observe_teammate_health else 0.0,
    }.get(f, float(f == "type_" + name and types_seen))


def _expected_self_value(env, layout, agent_id, allies, f) -> float:
    """The observing agent's own column."""
    caps, me = layout.capabilities, env.agents[agent_id]
    hl = env.agent_health_levels[agent_id]
    health = me.health / me.health_max
    return {
        "health": (health - hl) / (1 - hl) if caps.health else health,
        "shield": me.shield / me.shield_max if me.shield_max else 0.0,
        "attack_probability": env.agent_attack_probabilities[agent_id],
        "health_level": hl,
        "own_pos_x": me.pos.x / 32,
        "own_pos_y": me.pos.y / 32,
        "fov_x": env.fov_directions[agent_id][0],
        "fov_y": env.fov_directions[agent_id][1],
    }.get(f, float(f == "type_" + allies[agent_id].name))


def _expected_state(env, layout, x_units) -> dict[int, float]:
    allies, enemies = x_units
    out: dict[int, float] = {}
    for ent in layout.state.entities:
        for i, f in enumerate(ent.features):
            v = 0.0
            if ent.side in ("ally", "enemy"):
                u = env.agents[ent.unit_id] if ent.side == "ally" else env.enemies[ent.unit_id]
                name = (allies if ent.side == "ally" else enemies)[ent.unit_id].name
                ak = ent.unit_id if ent.side == "ally" else 0  # ally-only features read agent arrays
                if u.health > 0:
                    hl = env.agent_health_levels[ent.unit_id] if ent.side == "ally" else 0.0
                    max_cd = env.unit_max_cooldown(u)
                    cd = u.energy / max_cd if name == "Medivac" else u.weapon_cooldown / max_cd
                    health = u.health / u.health_max
                    v = {
                        "health": (health - hl) / (1 - hl)
                        if ent.side == "ally" and layout.capabilities.health
                        else health,
                        "energy_or_cooldown": cd,
                        "rel_x": (u.pos.x - 16) / 32,
                        "rel_y": (u.pos.y - 16) / 32,
                        "shield": u.shield / u.shield_max if u.shield_max else 0.0,
                        "attack_probability": env.agent_attack_probabilities[ak],
                        "health_level": hl,
                        "fov_x": env.fov_directions[ak][0],
                        "fov_y": env.fov_directions[ak][1],
                    }.get(f, float(f == "type_" + name))
            elif ent.side == "last_action":
                v = env.last_action[ent.unit_id][int(f.rsplit("_", 1)[1])]
            elif ent.side == "timestep":
                v = env._episode_steps / env.episode_limit
            out[ent.offset + i] = float(v)
    return out


def _smacv2_obs_name(layout, ent, f) -> str:
    """Our name -> SMACv2's build_obs_feature_names spelling (agent 0's view)."""
    spec = layout.spec
    if ent.side == "move":
        return {"move": "move_action_", "pathing": "pathing_grid_", "height": "terrain_height_"}[
            f.split("_")[0]
        ] + f.split("_", 1)[1]
    if ent.side == "timestep":
        return "timestep"
    k = ent.unit_id
    if f.startswith("type_"):
        bit = spec.ally_type_names.index(f[5:])
        return {
            "enemy": f"enemy_unit_type_{k}_bit_{bit}",
            "ally": f"ally_unit_type_{k}_bit_{bit}",
            "self": f"own_unit_type_bit_{bit}",
        }[ent.side]
    if ent.side == "self":
        return {
            "attack_probability": "own_attack_prob",
            "health_level": "own_health_level",
            "fov_x": "own_fov_x",
            "fov_y": "own_fov_y",
        }.get(f, f if f.startswith("own_") else "own_" + f)
    if f.startswith("last_action_"):
        return f"ally_last_action_{k}_action_{f.rsplit('_', 1)[1]}"
    word = {
        "attackable": "shootable",
        "rel_x": "relative_x",
        "rel_y": "relative_y",
        "attack_probability": "attack_prob",
    }.get(f, f)
    return f"{ent.side}_{word}_{k}"


def _smacv2_state_name(layout, ent, f) -> str:
    k = ent.unit_id
    if ent.side == "timestep":
        return "timestep"
    if ent.side == "last_action":
        return f"ally_last_action_{k}_action_{f.rsplit('_', 1)[1]}"
    if f.startswith("type_"):
        return f"{ent.side}_unit_type_{k}_bit_{layout.spec.ally_type_names.index(f[5:])}"
    word = {
        "energy_or_cooldown": "cooldown",
        "rel_x": "relative_x",
        "rel_y": "relative_y",
        "attack_probability": "attack_prob",
    }.get(f, f)
    return f"{ent.side}_{word}_{k}"


def check_against_smacv2(name: str, env_args: dict, seed: int = 0) -> None:
    layout = load_map_layout(name, env="sc2v2", env_args=env_args)
    args = layout.env_args
    rng = np.random.default_rng(seed)
    units = _units(layout, args, rng)
    n = layout.n_agents
    attack = rng.uniform(0.3, 1.0, n).round(3)
    health = rng.uniform(0.0, 0.3, n).round(3)
    angles = rng.uniform(0, 2 * np.pi, n)
    fov = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    env = sc2v2_env(args, *units, attack=attack, health=health, fov=fov)
    env.obs_enemies[:] = 1  # every enemy seen before (prob_obs_enemy = 1 shares each sighting)
    env.enemy_tags = [0] * env.n_enemies
    if layout.capabilities.enemy_mask:  # reset() reads it from the episode config
        env.enemy_mask, env.mask_enemies = rng.random((n, env.n_enemies)) < 0.5, True
    last = rng.integers(0, layout.n_actions, n)
    env.last_action = np.eye(layout.n_actions)[last]
    obs, state, avail = observe(env)
    layout.check_env(env.get_obs_size(), env.get_state_size(), env.get_total_actions())
    assert obs.shape == (n, layout.obs_size) and state.shape == (layout.state_size,)
    # column names
    ours = [_smacv2_obs_name(layout, e, f) for e in layout.obs_for_agent(0).entities for f in e.features]
    assert ours == list(env.get_obs_feature_names()), name
    ours = [_smacv2_state_name(layout, e, f) for e in layout.state.entities for f in e.features]
    assert ours == list(env.get_state_feature_names()), name
    # column values, every agent
    for a in range(n):
        true_avail = env.get_true_avail_agent_actions(a)
        want = _expected_obs(env, layout, a, true_avail, units)
        got = {c: float(obs[a, c]) for c in range(layout.obs_size)}
        bad = [(c, want[c], got[c]) for c in want if not math.isclose(want[c], got[c], abs_tol=1e-5)]
        assert not bad, (name, "agent", a, [(layout_name(layout, a, c), w, g) for c, w, g in bad[:6]])
    want = _expected_state(env, layout, units)
    bad = [(c, want[c], float(state[c])) for c in want if not math.isclose(want[c], float(state[c]), abs_tol=1e-5)]
    assert not bad, (name, "state", bad[:6])
    # prompts name each visible unit from its bits: the episode's own names
    if layout.spec.n_fov_actions:
        return  # conic_fov: no prompts (PromptEncoder refuses; test_bad_sc2v2_args_are_named)
    enc = PromptEncoder(layout, None)
    text = enc.texts(obs[:1], avail[:1], np.array([0]))[0]
    allies, enemies = units
    assert f"Self: Ally 0 ({allies[0].name})" in text or f"Self: Ally 0, {allies[0].name}\n" in text, text
    for j, e in enumerate(enemies):
        if f"Enemy {j} (" in text:
            masked = env.mask_enemies and env.enemy_mask[0][j]
            assert f"Enemy {j} ({'Unit' if masked else e.name})" in text, (j, e.name, text)
    dist = [layout.obs.by_side("enemy")[j].column("distance") for j in range(len(enemies))]
    if any(env.mask_enemies and env.enemy_mask[0][j] and obs[0, dist[j]] > 0 for j in range(len(enemies))):
        assert "(Unit)" in text, text


def layout_name(layout, agent_id, col) -> str:
    for e in layout.obs_for_agent(agent_id).entities:
        if e.offset <= col < e.offset + e.size:
            return f"{e.side}_{e.slot}.{e.features[col - e.offset]}"
    return "?"


@pytest.mark.parametrize("scenario", sorted(SC2V2_SCENARIOS))
def test_every_epymarl_scenario_yaml_equals_smacv2(scenario):
    smacv2()
    args = _yaml_scenarios()[scenario]
    check_against_smacv2(scenario, args, seed=sum(scenario.encode()))


_VARIANTS = {
    "no_own_pos": {"obs_own_pos": False},
    "conic_fov": {"conic_fov": True, "num_fov_actions": 8},
    "last_actions_timesteps": {"obs_last_action": True, "obs_timestep_number": True, "state_timestep_number": True},
    "no_state_last_action": {"state_last_action": False},
    "own_health_only": {"obs_all_health": False, "obs_own_health": True},
    "no_health": {"obs_all_health": False, "obs_own_health": False},
    "grids": {"obs_pathing_grid": True, "obs_terrain_height": True},
    "no_unit_ranges": {"use_unit_ranges": False},
}
_CAPS = {
    "attack_observed": {
        "attack": {"dist_type": "per_agent_uniform", "lower_bound": 0.5, "upper_bound": 1.0, "observe": True}
    },
    "attack_padded": {
        "attack": {"dist_type": "per_agent_uniform", "lower_bound": 0.5, "upper_bound": 1.0, "observe": False}
    },
    "health_observed": {
        "health": {"dist_type": "per_agent_uniform", "lower_bound": 0.0, "upper_bound": 0.3, "observe": True}
    },
    "health_padded": {
        "health": {"dist_type": "per_agent_uniform", "lower_bound": 0.0, "upper_bound": 0.3, "observe": False}
    },
    "types_unobserved": {"team_gen": "observe_false"},
    "enemy_mask": {"enemy_mask": {"dist_type": "mask", "mask_probability": 0.5, "n_enemies": 5}},
}


@pytest.mark.parametrize("race", ["protoss", "terran", "zerg"])
@pytest.mark.parametrize("variant", sorted(_VARIANTS) + sorted(_CAPS) + ["all_on"])
def test_layout_flags_equal_smacv2(race, variant):
    smacv2()
    name = f"{race}_5_vs_5"
    args = copy.deepcopy(SC2V2_SCENARIOS[name])
    changes = {}
    if variant in _VARIANTS:
        changes = _VARIANTS[variant]
    elif variant == "all_on":
        changes = {**_VARIANTS["conic_fov"], **_VARIANTS["last_actions_timesteps"], **_VARIANTS["grids"]}
    args.update(changes)
    cc = args["capability_config"]
    for key in [variant] if variant in _CAPS else ["attack_observed", "health_observed"] if variant == "all_on" else []:
        ((cap_key, cap_value),) = _CAPS[key].items()
        if cap_value == "observe_false":
            cc["team_gen"]["observe"] = False
        else:
            cc[cap_key] = copy.deepcopy(cap_value)
    check_against_smacv2(name, args, seed=len(variant))


def test_terran_medivacs_heal_so_targets_cover_the_larger_side():
    smacv2()
    args = copy.deepcopy(SC2V2_SCENARIOS["terran_5_vs_5"])
    args["capability_config"].update(n_units=7, n_enemies=5)
    layout = load_map_layout("terran_5_vs_5", env="sc2v2", env_args=args)
    assert layout.n_targets == 7  # StarCraft2Env: n_actions_no_attack + n_agents
    check_against_smacv2("terran_5_vs_5", args, seed=3)


def test_known_sizes_without_smacv2():
    """SMACv2's published protoss_5_vs_5 sizes (obs 92, state 130, 11 actions), and the shapes of the rest."""
    lay = load_map_layout("protoss_5_vs_5", env="sc2v2")
    assert (lay.obs_size, lay.state_size, lay.n_actions) == (92, 130, 11)
    assert lay.composition_varies and lay.ally_unit_names == ("Unit",) * 5
    assert lay.own_features == (
        "health",
        "shield",
        "own_pos_x",
        "own_pos_y",
        "type_Stalker",
        "type_Zealot",
        "type_Colossus",
    )
    zerg = load_map_layout("zerg_10_vs_11", env="sc2v2")
    assert zerg.spec.ally_type_names == ("Zergling", "Hydralisk", "Baneling")  # get_unit_type_id order
    fov = load_map_layout("protoss_5_vs_5", env="sc2v2", env_args={"conic_fov": True})
    assert (fov.n_base_actions, fov.n_targets) == (18, 5)


def test_bad_sc2v2_args_are_named():
    with pytest.raises(ValueError, match="obs_instead_of_state"):
        load_map_layout("protoss_5_vs_5", env="sc2v2", env_args={"obs_instead_of_state": True})
    with pytest.raises(ValueError, match="SMACv2 env args"):
        load_map_layout("3m", env="sc2", env_args={"obs_own_pos": True})
    with pytest.raises(Exception, match="env='sc2v2'"):
        load_map_layout("protoss_5_vs_5", env="sc2")
    bad = copy.deepcopy(SC2V2_SCENARIOS["zerg_5_vs_5"])
    bad["capability_config"]["team_gen"]["unit_types"] = ["zergling", "stalker"]
    with pytest.raises(ValueError, match="stalker"):
        load_map_layout("zerg_5_vs_5", env="sc2v2", env_args=bad)
    with pytest.raises(Exception, match="env='sc2'"):
        load_map_layout("3m", env="sc2v2")
    with pytest.raises(ValueError, match="conic_fov=False"):
        PromptEncoder(load_map_layout("protoss_5_vs_5", env="sc2v2", env_args={"conic_fov": True}), None)
    assert scenario_env_args("protoss_5_vs_5")["capability_config"]["n_units"] == 5


def test_layout_command_prints_a_smacv2_prompt(capsys):
    from epymarl_llm_tools import cli

    assert cli.main(["layout", "protoss_5_vs_5", "--env", "sc2v2", "--example-prompt"]) == 0
    out = capsys.readouterr().out
    assert "map protoss_5_vs_5 (sc2v2): 5 agents, 5 enemies, 11 actions (6 base + 5 target slots)" in out
    assert "observation: 92 values" in out and "state: 130 values" in out
    assert "own_pos_x@87 own_pos_y@88" in out
    prompt = out.split("example prompt")[1]
    assert "Both teams are Protoss" in prompt and "(Unit)" not in prompt
    assert any(f"({name})" in prompt for name in ("Stalker", "Zealot", "Colossus"))


def test_each_episode_names_its_own_team():
    """Two episodes of one scenario: the same columns, other names, read from the bits alone."""
    from epymarl_llm.prompts import random_observations

    layout = load_map_layout("zerg_10_vs_10", env="sc2v2")
    enc = PromptEncoder(layout, None)
    seen = []
    for seed in (1, 2):
        obs, avail, ids = random_observations(layout, 6, seed=seed)
        allies, _ = draw_teams(layout.env_args, np.random.default_rng(seed))
        for text, a, row in zip(enc.texts(obs, avail, ids), ids, avail, strict=True):
            if row[1]:  # alive
                assert f"Self: Ally {a} ({allies[a]})" in text
        seen.append(allies)
    assert seen[0] != seen[1]
