"""The Transformer critic: name-aligned unit tokens, padding and death invariance, any map size."""

from collections import namedtuple

import pytest
import torch

from epymarl_llm import prompts
from epymarl_llm.critic import (
    TOKEN_FEATURES,
    CriticConfig,
    EpymarlTransformerCritic,
    StateTokenizer,
    TransformerCritic,
    pad_tokens,
)
from epymarl_llm.critic.unit_vocab import unit_type_id
from epymarl_llm.prompts import EntitySlot as Slot

Layout = namedtuple("Layout", "state")
StateLayout = namedtuple("StateLayout", "entities")


def smac_like_entities(allies, enemies, shields=True, type_bits=2):
    """EntitySlots laid out as SMAC's get_state: all ally rows, then all enemy rows."""
    ally_feats = ["health", "energy_or_cooldown", "rel_x", "rel_y"] + (["shield"] if shields else [])
    enemy_feats = ["health", "rel_x", "rel_y"] + (["shield"] if shields else [])
    ally_feats += [f"type_{i}" for i in range(type_bits)]
    enemy_feats += [f"type_{i}" for i in range(type_bits)]
    slots, offset = [], 0
    for side, names, feats in (("ally", allies, ally_feats), ("enemy", enemies, enemy_feats)):
        for i, name in enumerate(names):
            slots.append(Slot(side, i, name, offset, len(feats), tuple(feats), unit_id=i))
            offset += len(feats)
    return slots, offset


def random_states(entities, width, batch, generator, dead=()):
    state = torch.rand(batch, width + 3, generator=generator) + 0.05  # +3: trailing non-unit columns
    for index in dead:
        e = entities[index]
        state[:, e.offset : e.offset + e.size] = 0.0
    return state


@pytest.fixture
def critic():
    torch.manual_seed(0)
    return TransformerCritic(CriticConfig(critic_d_model=32, critic_layers=2, critic_heads=4)).eval()


def test_tokens_align_features_by_name_and_drop_type_bits():
    entities, width = smac_like_entities(["stalker", "zealot"], ["zealot"], shields=True)
    state = torch.arange(width, dtype=torch.float32).unsqueeze(0) + 1.0
    tokens = StateTokenizer(entities)(state)
    assert tokens.features.shape == (1, 3, len(TOKEN_FEATURES))
    ally0, enemy0 = entities[0], entities[2]
    # ally: health, cooldown, rel_x, rel_y, shield at offsets 0..4 of its row
    assert tokens.features[0, 0, :5].tolist() == [ally0.offset + k + 1.0 for k in range(5)]
    assert (tokens.features[..., 5:] == 0).all()  # no last actions in this state
    # enemy: health, (no cooldown), rel_x, rel_y, shield at offsets 0, -, 1, 2, 3
    o = enemy0.offset + 1.0
    assert tokens.features[0, 2, :5].tolist() == [o, 0.0, o + 1, o + 2, o + 3]
    assert tokens.type_ids[0].tolist() == [unit_type_id("stalker"), unit_type_id("zealot"), unit_type_id("zealot")]
    assert tokens.side_ids[0].tolist() == [0, 0, 1]
    assert tokens.live.all()


def test_missing_shield_is_zero_and_dead_units_are_not_live():
    entities, width = smac_like_entities(["marine"] * 3, ["marine"] * 4, shields=False, type_bits=0)
    state = random_states(entities, width, 2, torch.Generator().manual_seed(1), dead=(1, 5))
    tokens = StateTokenizer(entities)(state)
    assert (tokens.features[..., TOKEN_FEATURES.index("shield")] == 0).all()
    assert tokens.live[0].tolist() == [True, False, True, True, True, False, True]


def test_value_ignores_padding_around_a_state(critic):
    g = torch.Generator().manual_seed(2)
    small, w_small = smac_like_entities(["stalker"] * 3, ["zealot"] * 4)
    big, w_big = smac_like_entities(["stalker"] * 3 + ["zealot"] * 5, ["stalker"] * 3 + ["zealot"] * 6)
    s_small = StateTokenizer(small)(random_states(small, w_small, 4, g, dead=(2,)))
    s_big = StateTokenizer(big)(random_states(big, w_big, 3, g))
    with torch.no_grad():
        alone = critic(s_small)
        padded = critic(pad_tokens([s_big, s_small, s_big]))
    assert padded.shape == (10,)
    torch.testing.assert_close(padded[3:7], alone, rtol=1e-5, atol=1e-5)


def test_dead_units_do_not_leak_but_live_ones_count(critic):
    g = torch.Generator().manual_seed(3)
    entities, width = smac_like_entities(["stalker"] * 3, ["zealot"] * 4)
    tokens = StateTokenizer(entities)(random_states(entities, width, 2, g, dead=(1,)))
    with torch.no_grad():
        base = critic(tokens)
        # Whatever a dead unit's other columns, type or side hold, the value stays.
        tokens.features[:, 1, 1:] = 7.0
        tokens.type_ids = tokens.type_ids.clone()
        tokens.type_ids[:, 1] = unit_type_id("colossus")
        torch.testing.assert_close(critic(tokens), base, rtol=1e-5, atol=1e-5)
        tokens.features[:, 0, :5] = 3.0  # a live unit's features change the value
        assert (critic(tokens) - base).abs().min() > 1e-3


def test_a_state_without_live_units_has_a_finite_value(critic):
    entities, width = smac_like_entities(["marine"] * 2, ["marine"] * 2, shields=False, type_bits=0)
    tokens = StateTokenizer(entities)(torch.zeros(3, width))
    with torch.no_grad():
        v = critic(tokens)
    assert torch.isfinite(v).all()
    torch.testing.assert_close(v, critic.value(torch.zeros(3, 32)).squeeze(-1))


def test_same_weights_run_on_maps_of_different_sizes():
    args = {"n_agents": 3, "critic_d_model": 16, "critic_layers": 1, "critic_heads": 2}
    e_small, w_small = smac_like_entities(["stalker"] * 3, ["zealot"] * 5)
    e_big, w_big = smac_like_entities(["stalker"] * 3 + ["zealot"] * 5, ["stalker"] * 3 + ["zealot"] * 6)
    small = EpymarlTransformerCritic(None, _ns(args), layout=Layout(StateLayout(e_small)))
    big = EpymarlTransformerCritic(None, _ns({**args, "n_agents": 8}), layout=Layout(StateLayout(e_big)))
    big.load_state_dict(small.state_dict())  # no weight depends on the map
    batch = {"state": torch.rand(2, 5, w_big + 3)}
    out = big(batch)
    assert out.shape == (2, 5, 8, 1) and torch.isfinite(out).all()
    assert torch.equal(out[..., 0, :], out[..., 7, :])
    assert big(batch, t=2).shape == (2, 1, 8, 1)
    assert small({"state": torch.rand(2, 5, w_small)}).shape == (2, 5, 3, 1)


def _ns(d):
    from types import SimpleNamespace

    return SimpleNamespace(**d)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"critic_d_model": 30, "critic_heads": 4}, "divisible"),
        ({"critic_layers": 0}, "critic_layers"),
        ({"critic_heads": -1}, "critic_heads"),
    ],
)
def test_bad_critic_config_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CriticConfig(**kwargs)


def test_unknown_state_feature_is_a_clear_error():
    entities = [Slot("ally", 0, "marine", 0, 2, ("health", "mana"))]
    with pytest.raises(ValueError, match="'mana' has no token column"):
        StateTokenizer(entities)


def test_last_actions_fold_into_ally_tokens_whatever_the_target_count():
    entities, width = smac_like_entities(["marine"] * 2, ["marine"] * 3, shields=False, type_bits=0)
    n_actions = 6 + 3
    acts = tuple(f"last_action_{k}" for k in range(n_actions))
    entities += [Slot("last_action", a, "marine", width + a * n_actions, n_actions, acts, a) for a in range(2)]
    entities.append(Slot("timestep", 0, None, width + 2 * n_actions, 1, ("timestep",)))
    state = torch.zeros(1, width + 2 * n_actions + 1)
    state[0, [0, 4]] = 1.0  # both allies alive
    state[0, width + 3] = 1.0  # agent 0 moved south
    state[0, width + n_actions + 7] = 1.0  # agent 1 attacked enemy 1
    tokens = StateTokenizer(entities)(state)
    last = tokens.features[0, :, 5:]
    assert last[0].tolist() == [0, 0, 0, 1, 0, 0, 0]
    assert last[1].tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert (last[2:] == 0).all()  # enemies have no last action
    assert tokens.features.shape[1] == 5  # last-action and timestep blocks are no tokens


def test_observations_as_state_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="obs_instead_of_state=False"):
        StateTokenizer([Slot("agent_obs", 0, "marine", 0, 4, ("a", "b", "c", "d"))])


@pytest.mark.parametrize("env", ["sc2", "smaclite"])
def test_one_critic_on_real_smac_layouts_of_different_sizes(env):
    torch.manual_seed(0)
    net = TransformerCritic(CriticConfig(critic_d_model=16, critic_layers=1, critic_heads=2))
    for name in ("3s5z", "3s5z_vs_3s6z", "MMM2"):
        layout = prompts.load_map_layout(name, env=env, env_args={})
        tokenizer = StateTokenizer(layout.state.entities)
        assert tokenizer.n_entities == layout.n_agents + layout.n_enemies
        state = torch.rand(4, layout.state.size)
        assert net(tokenizer(state)).shape == (4,)


def _enemy_state(layout, types: dict[int, str]) -> torch.Tensor:
    """One state row of `layout` with live enemies whose type bits say `types` (slot -> unit name)."""
    width = max(e.offset + e.size for e in layout.state.entities)
    state = torch.zeros(1, width)
    for e in layout.state.entities:
        if e.side != "enemy":
            continue
        state[0, e.offset + e.features.index("health")] = 0.5
        if e.slot in types:
            state[0, e.offset + e.features.index("type_" + types[e.slot])] = 1.0
    return state


def test_mixed_enemy_types_come_from_each_rows_type_bits():
    """SMAC leaves 3s5z's enemy slots unnamed: a zealot and a stalker must still get their own ids."""
    from epymarl_llm.prompts import load_map_layout

    layout = load_map_layout("3s5z", env="sc2", env_args={})
    tokenizer = StateTokenizer(layout.state.entities)
    units = [e for e in layout.state.entities if e.side in ("ally", "enemy")]  # the tokens' order
    enemies = [k for k, e in enumerate(units) if e.side == "enemy"]
    ids = tokenizer(_enemy_state(layout, {0: "Zealot", 1: "Stalker"})).type_ids[0]
    assert ids[enemies[0]] == unit_type_id("zealot")
    assert ids[enemies[1]] == unit_type_id("stalker")
    assert ids[enemies[0]] != ids[enemies[1]]
    # The same slot changes type with its row, and a row with no bit set (dead) keeps the layout's id.
    swapped = tokenizer(_enemy_state(layout, {0: "Stalker"})).type_ids[0]
    assert swapped[enemies[0]] == unit_type_id("stalker") and swapped[enemies[1]] == 0


def test_type_ids_from_bits_are_shared_across_maps():
    """A Medivac enemy of MMM2 and one of MMM share one embedding id, as do allies on any map."""
    from epymarl_llm.prompts import load_map_layout

    for name in ("MMM", "MMM2"):
        layout = load_map_layout(name, env="sc2", env_args={})
        tokenizer = StateTokenizer(layout.state.entities)
        units = [e for e in layout.state.entities if e.side in ("ally", "enemy")]
        first_enemy = next(k for k, e in enumerate(units) if e.side == "enemy")
        ids = tokenizer(_enemy_state(layout, {0: "Medivac"})).type_ids[0]
        assert ids[first_enemy] == unit_type_id("medivac")
        assert ids[0] == unit_type_id(layout.ally_unit_names[0])
