"""Demonstrators: the scripted heuristic's choices, answer parsing, and the generating LM's
fallback for invalid answers (a tiny random LM answers garbage)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from epymarl_llm.leed import demonstrators as d
from epymarl_llm.prompts import load_map_layout

sys.path.insert(0, str(Path(__file__).parent))
from helpers import layout


def _row(lay, agent=0):
    obs = np.zeros(lay.obs_size, np.float32)
    avail = np.zeros(lay.n_actions, np.uint8)
    avail[1:6] = 1
    return obs, avail


def _enemy(lay, obs, j, health, dist=0.5, dx=0.3, dy=0.1):
    base = lay.enemy_offset + j * lay.enemy_feats
    f = lay.enemy_features
    obs[base + f.index("distance")], obs[base + f.index("rel_x")], obs[base + f.index("rel_y")] = dist, dx, dy
    obs[base + f.index("health")] = health


def test_scripted_focuses_the_weakest_available_enemy():
    lay = layout()
    obs, avail = _row(lay)
    for j, h in enumerate((0.9, 0.2, 0.5, 0.1, 0.7)):
        _enemy(lay, obs, j, h)
    avail[6 + np.array([0, 1, 2])] = 1  # enemy 3 is weaker but out of range
    actions, valid = d.ScriptedDemonstrator(lay).act(obs[None], avail[None], np.random.default_rng(0))
    assert actions.tolist() == [6 + 1] and valid.all()


def test_scripted_closes_in_on_the_nearest_visible_enemy_and_dead_agents_no_op():
    lay = layout()
    obs, avail = _row(lay)
    _enemy(lay, obs, 0, 0.5, dist=0.9, dx=0.8, dy=0.0)
    _enemy(lay, obs, 1, 0.5, dist=0.4, dx=-0.1, dy=-0.35)  # nearest: mostly south
    dead = np.zeros_like(avail)
    dead[0] = 1
    actions, _ = d.ScriptedDemonstrator(lay).act(
        np.stack([obs, obs]), np.stack([avail, dead]), np.random.default_rng(0)
    )
    assert actions.tolist() == [d.MOVES["south"], 0]


def test_scripted_medivac_heals_the_weakest_ally():
    lay = load_map_layout("MMM", env="sc2")
    healer = next(a for a in range(lay.n_agents) if lay.spec.is_healer(a))
    obs = np.zeros(lay.obs_size, np.float32)
    avail = np.zeros(lay.n_actions, np.uint8)
    avail[1] = 1
    f = lay.ally_features
    for ally, h in ((0, 0.8), (1, 0.3), (2, 0.1)):
        slot = ally - (ally > healer)
        obs[lay.ally_offset + slot * lay.ally_feats + f.index("health")] = h
    avail[6 + 0] = avail[6 + 1] = 1  # ally 2 is weaker but not in heal range
    actions, _ = d.ScriptedDemonstrator(lay).act(
        np.tile(obs, (lay.n_agents, 1)),
        np.tile(avail, (lay.n_agents, 1)) * (np.arange(lay.n_agents) == healer)[:, None],
        np.random.default_rng(0),
    )
    assert actions[healer] == 6 + 1


@pytest.mark.parametrize(
    "answer, expected",
    [
        (" attack enemy 2\n", (8, True)),
        ("Move North.", (2, True)),
        ("attack enemy 12", (None, False)),  # longest match: "attack enemy 1" must not match "attack enemy 12"
        ("move south", (3, False)),  # exists, unavailable
        ("dance", (None, False)),
        ("", (None, False)),
        # an instruct model's sentence: the first action it names
        ("To complete the mission, you must attack enemy 2.", (8, True)),
        ("You can choose to move north, move south, move east", (2, True)),
        ("I would attack enemy 12 first", (None, False)),
        ("stop moving and attack enemy 2", (1, True)),
        ("1. Ally 4 (Zealot): health", (None, False)),
    ],
)
def test_parse_action(answer, expected):
    avail = np.array([0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0], np.uint8)
    assert d.parse_action(answer, avail, healer=False) == expected


def test_parse_action_heal_words_for_a_medivac():
    avail = np.array([0, 1, 0, 0, 0, 0, 0, 1], np.uint8)
    assert d.parse_action("heal ally 1", avail, healer=True) == (7, True)
    assert d.parse_action("attack enemy 1", avail, healer=True) == (None, False)


def test_text_lm_garbage_answers_are_counted_and_replaced_by_available_actions(tiny_model_dir):
    import torch
    from helpers import demo_episodes

    torch.manual_seed(0)
    lay = layout()
    lm = d.TextLmDemonstrator(lay, str(tiny_model_dir), max_new_tokens=4)
    demos = demo_episodes(n_episodes=1, length=2)
    rng = np.random.default_rng(0)
    obs, avail = demos.obs[0, 0], demos.avail[0, 0]
    actions, valid = lm.act(obs, avail, rng)
    live = avail[:, 1:].any(-1)
    assert len(lm.last_answers) == int(live.sum())
    assert all(avail[i, a] for i, a in enumerate(actions))  # every action is available
    assert (~valid[live]).sum() >= 1  # a random tiny LM does not answer with action words
    for i, answer in zip(np.flatnonzero(live), lm.last_answers, strict=True):
        parsed, ok = d.parse_action(answer, avail[i], healer=False)
        assert valid[i] == ok and (not ok or actions[i] == parsed)


def test_the_answer_instruction_comes_before_the_closing_cue():
    text = "Available actions:\nstop\nmove north\nYour action:"
    assert d._with_answer_instruction(text) == (
        "Available actions:\nstop\nmove north\n" + d.ANSWER_INSTRUCTION + "\nYour action:"
    )
    assert d._with_answer_instruction("no cue") == "no cue\n" + d.ANSWER_INSTRUCTION


def test_the_uniform_demonstrator_takes_available_actions_only():
    avail = np.array([[1, 0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0, 1]] * 50, np.uint8)
    actions, valid = d.UniformDemonstrator(layout()).act(np.zeros((100, 4)), avail, np.random.default_rng(0))
    assert valid.all()
    live = actions[1::2]
    assert set(live.tolist()) == {1, 2, 6}  # every available action of a live agent turns up
    assert (actions[0::2] == 0).all()  # dead agents (no-op only) keep action 0
