"""Token ids and spans: joined piece ids equal whole-prompt tokenization; spans cover their entity."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from epymarl_llm.prompts import PromptConfig, PromptEncoder, load_map_layout, random_observations

CASES = [  # map, env, env_args
    ("3s5z_vs_3s6z", "sc2", {}),
    ("MMM2", "sc2", {"obs_last_action": True, "obs_timestep_number": True, "obs_pathing_grid": True}),
    ("3m", "sc2", {"obs_all_health": False, "obs_own_health": False}),
    ("2c_vs_64zg", "sc2", {"obs_terrain_height": True}),
    ("MMM", "smaclite", {}),
    ("bane_vs_bane", "smaclite", {}),
]
CONFIGS = [
    PromptConfig(),
    PromptConfig(number_format="percent"),
    PromptConfig(dynamic_prompt=False, number_format="decimal"),
]


def _encode(tokenizer, name, env, args, config, n=40, seed=0):
    layout = load_map_layout(name, env=env, env_args=args)
    enc = PromptEncoder(layout, tokenizer, config=config)
    obs, avail, ids = random_observations(layout, n, seed=seed)
    return enc, enc.encode(obs, avail, ids), enc.texts(obs, avail, ids), (obs, avail, ids)


def _rows(batch):
    return [batch.input_ids[r, : int(batch.lengths[r])].tolist() for r in range(len(batch))]


@pytest.mark.parametrize("case", CASES, ids=[c[0] + "-" + c[1] for c in CASES])
@pytest.mark.parametrize("config", CONFIGS, ids=["dynamic-compact", "dynamic-percent", "fixed-decimal"])
def test_fast_ids_equal_whole_prompt_ids_for_a_qwen_like_tokenizer(qwen_like_tokenizer, case, config):
    enc, batch, texts, _ = _encode(qwen_like_tokenizer, *case, config)
    assert enc.fast, "the joined-pieces path must hold for Qwen's pre-tokenizer"
    assert _rows(batch) == qwen_like_tokenizer(texts)["input_ids"]


@pytest.mark.parametrize("fixture", ["gpt2_like_tokenizer", "word_level_tokenizer"])
def test_other_tokenizers_give_identical_ids_too(request, fixture):
    tok = request.getfixturevalue(fixture)
    for case in CASES[:3]:
        enc, batch, texts, _ = _encode(tok, *case, CONFIGS[0])
        assert enc.fast
        assert _rows(batch) == tok(texts)["input_ids"]


def test_a_tokenizer_whose_pieces_do_not_join_falls_back_exactly(metaspace_tokenizer):
    with pytest.warns(UserWarning, match="tokenizes whole prompts instead"):
        enc, batch, texts, _ = _encode(metaspace_tokenizer, *CASES[0], CONFIGS[0])
    assert not enc.fast
    assert _rows(batch) == metaspace_tokenizer(texts)["input_ids"]
    _check_spans(metaspace_tokenizer, enc, batch, texts, exact=False)


def _entity_texts(text: str) -> dict[tuple[str, int], str]:
    """Each unit's line in the game-state part (the entity's description, without its newline)."""
    out = {}
    for line in text.split("Current game state:\n", 1)[1].split("\nAvailable actions:")[0].split("\n"):
        if line.startswith("Self: Ally "):
            out[("self", int(line.split()[2].rstrip(",")))] = line
        elif line.startswith(("Ally ", "Enemy ")):
            side, idx = line.split()[:2]
            out[(side.lower(), int(idx.rstrip(":")))] = line
    return out


def _check_spans(tok, enc, batch, texts, exact=True):
    layout = enc.layout
    for r, text in enumerate(texts):
        ids = batch.input_ids[r].tolist()
        lines = _entity_texts(text)
        spans = {(side, k): (a, b) for side, k, a, b in batch.entity_spans[r]}
        assert set(spans) == set(lines)
        for key, (a, b) in spans.items():
            decoded = tok.decode(ids[a:b])
            if exact:  # byte-level tokenizers decode to exactly the entity's text
                assert decoded == lines[key], key
            else:  # tokens may straddle the entity's edges: the span is the fewest tokens covering it
                flat = lines[key].replace(" ", "")
                assert flat in decoded.replace(" ", "").replace("\n", ""), key
                assert flat not in tok.decode(ids[a + 1 : b]).replace(" ", "") and flat not in tok.decode(
                    ids[a : b - 1]
                ).replace(" ", ""), key
        agent = int(text.split("Self: Ally ", 1)[1].split()[0].rstrip(",:"))
        heals = "(Medivac)" in text.split("Current game state:\n", 1)[1].split("\n", 1)[0]
        for j in range(layout.n_targets):
            key = ("ally", j) if heals else ("enemy", j)
            want = spans.get(key, (0, 0)) if not (heals and j == agent) else (0, 0)
            assert tuple(batch.target_spans[r, j].tolist()) == want, (r, j)


@pytest.mark.parametrize("case", CASES, ids=[c[0] + "-" + c[1] for c in CASES])
def test_spans_cover_exactly_their_entity(qwen_like_tokenizer, case):
    for config in CONFIGS:
        enc, batch, texts, _ = _encode(qwen_like_tokenizer, *case, config)
        _check_spans(qwen_like_tokenizer, enc, batch, texts)


def test_medivac_targets_are_ally_spans(qwen_like_tokenizer):
    enc, batch, texts, (obs, avail, ids) = _encode(qwen_like_tokenizer, "MMM2", "sc2", {}, CONFIGS[0], n=80)
    medivac_rows = [r for r in range(80) if ids[r] == 9 and avail[r, 1]]
    assert medivac_rows, "the sample must hold a live Medivac"
    for r in medivac_rows:
        ally_spans = {k: (a, b) for side, k, a, b in batch.entity_spans[r] if side == "ally"}
        assert ally_spans
        for k, span in ally_spans.items():
            assert tuple(batch.target_spans[r, k].tolist()) == span
            assert qwen_like_tokenizer.decode(batch.input_ids[r, span[0] : span[1]].tolist()).startswith(f"Ally {k} (")


def test_prefix_is_shared_by_every_row_agent_and_step(qwen_like_tokenizer):
    layout = load_map_layout("3s5z_vs_3s6z")
    enc = PromptEncoder(layout, qwen_like_tokenizer)
    prefix = qwen_like_tokenizer(enc.prefix_text)["input_ids"]
    assert enc.prefix_len == len(prefix) > 50
    for seed in range(3):  # three "steps"
        obs, avail, ids = random_observations(layout, 16, seed=seed)
        batch = enc.encode(obs, avail, ids)
        assert batch.prefix_len == enc.prefix_len
        assert (batch.input_ids[:, : batch.prefix_len] == batch.input_ids[0, : batch.prefix_len]).all()
        assert batch.input_ids[0, : batch.prefix_len].tolist() == prefix
        assert all(t.startswith(enc.prefix_text) for t in enc.texts(obs, avail, ids))


def test_special_tokens_and_padding(word_level_tokenizer):
    enc, batch, texts, _ = _encode(word_level_tokenizer, *CASES[0], CONFIGS[0], n=8)
    bos = word_level_tokenizer.convert_tokens_to_ids("<s>")
    assert (batch.input_ids[:, 0] == bos).all() and batch.prefix_len == len(enc.prefix_ids)
    assert enc.prefix_ids[0] == bos
    width = batch.input_ids.shape[1]
    for r in range(len(batch)):
        n = int(batch.lengths[r])
        assert batch.attention_mask[r].tolist() == [1] * n + [0] * (width - n)
        assert (batch.input_ids[r, n:] == batch.pad_id).all()
    assert batch.pad_id == word_level_tokenizer.pad_token_id
    _check_spans(word_level_tokenizer, enc, batch, texts, exact=False)


def test_torch_inputs_and_shapes(qwen_like_tokenizer):
    import torch

    layout = load_map_layout("8m_vs_9m")
    enc = PromptEncoder(layout, qwen_like_tokenizer)
    obs, avail, ids = random_observations(layout, 5, seed=1)
    a = enc.encode(torch.from_numpy(obs), torch.from_numpy(avail), torch.from_numpy(ids))
    b = enc.encode(obs, avail, ids)
    assert torch.equal(a.input_ids, b.input_ids) and a.input_ids.dtype == torch.long
    assert a.target_spans.shape == (5, layout.n_targets, 2) and a.lengths.shape == (5,)
    sub = a.select(torch.tensor([1, 3]))
    assert sub.input_ids.shape[1] == int(a.lengths[[1, 3]].max())


def test_encode_without_tokenizer_is_a_clear_error():
    enc = PromptEncoder(load_map_layout("3m"))
    obs, avail, ids = random_observations(enc.layout, 2)
    with pytest.raises(ValueError, match="built without a tokenizer"):
        enc.encode(obs, avail, ids)


def test_no_warning_for_joinable_tokenizers(qwen_like_tokenizer):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PromptEncoder(load_map_layout("3s5z"), qwen_like_tokenizer)
    assert np.__name__  # numpy is the only array dependency of the text path
