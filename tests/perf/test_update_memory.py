"""`update_memory_mb`: the update's gradient forwards hold no more prompts than the memory allows.

Fewer prompts per forward change only the order of a sum (gradients are accumulated chunk by chunk),
so an update within a small budget must equal the plain update, and the measured activations of a
chunk must stay within the budget it was sized for.
"""

import torch

from epymarl_llm.learner import chunk_memory
from epymarl_llm.learner.episode_tensors import EpisodeTensors
from epymarl_llm.prompts import load_map_layout
from epymarl_llm_tools.bench.episodes import synthetic_episodes
from tests.perf.perf_learners import learner_for

MAP = "3s5z_vs_3s6z"
BODIES = ("tiny", "llama-tiny")  # Qwen3 and Llama (SmolLM2's family) layers


def test_saved_activations_grow_with_prompts_and_leave_out_the_weights(make_policy, step):
    tokens, avail = step
    policy = make_policy()
    longest = int(tokens.lengths.argmax())
    one = chunk_memory.saved_activation_bytes(policy, tokens.select(torch.tensor([longest])), avail[[longest]])
    two, three = (torch.tensor([longest] * n) for n in (2, 3))
    two = chunk_memory.saved_activation_bytes(policy, tokens.select(two), avail[two])
    three = chunk_memory.saved_activation_bytes(policy, tokens.select(three), avail[three])
    assert 0 < one < two < three
    # each prompt more costs the same: the weights, kept whatever the rows, are not counted per prompt
    assert three - two == two - one
    # the top layer only, with the lower one frozen, keeps less than both layers
    top_only = chunk_memory.saved_activation_bytes(
        make_policy(lora_layers=1), tokens.select(torch.tensor([longest])), avail[[longest]]
    )
    assert top_only < one


def test_a_chunk_sized_for_a_budget_keeps_its_activations_within_it(make_policy, step):
    tokens, avail = step
    policy = make_policy()
    sizer = chunk_memory.PromptsPerForward()
    assert sizer.within(policy, tokens, avail, 2**40, 64) == 64
    assert sizer.length == int(tokens.lengths.max())
    budget = sizer.shared + int(3.5 * sizer.per_prompt)  # room for three prompts and a half
    assert sizer.within(policy, tokens, avail, budget, 64) == 3
    for chunk in policy.row_groups(tokens, 3):
        assert chunk_memory.saved_activation_bytes(policy, tokens.select(chunk), avail[chunk]) <= budget
    assert sizer.within(policy, tokens, avail, 1, 64) == 1  # never fewer than one
    assert sizer.within(policy, tokens, avail, 2**40, 5) == 5  # never more than the cap


def test_the_probe_runs_again_only_for_a_longer_prompt(make_policy, step, monkeypatch):
    tokens, avail = step
    policy, sizer, probes = make_policy(), chunk_memory.PromptsPerForward(), []
    original = chunk_memory._probe
    monkeypatch.setattr(chunk_memory, "_probe", lambda *a: probes.append(1) or original(*a))
    order = tokens.lengths.argsort()
    short = order[: len(order) // 2]
    sizer.within(policy, tokens.select(short), avail[short], 2**30, 64)
    sizer.within(policy, tokens.select(short), avail[short], 2**30, 64)
    assert len(probes) == 1
    sizer.within(policy, tokens, avail, 2**30, 64)  # the longest prompts come in
    assert len(probes) == 2 and sizer.length == int(tokens.lengths.max())


def test_an_update_within_a_small_budget_equals_the_plain_update(make_policy):
    layout = load_map_layout(MAP, env="sc2")
    episodes = synthetic_episodes(layout, episodes=2, length=3, seed=5)
    updates, chunk_counts, said = [], [], []
    for memory_mb in (0, 1):  # 1 MiB holds one prompt of the tiny model at most
        console = type("Console", (), {"info": staticmethod(said.append)})()
        logger = type("Logger", (), {"log_stat": staticmethod(lambda *a, **k: None), "console_logger": console})()
        policy = make_policy()
        learner, _ = learner_for(policy, layout, logger=logger, update_memory_mb=memory_mb)
        learner.train(EpisodeTensors({k: v.clone() for k, v in episodes.items()}), 0, 0)
        updates.append({n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad})
        chunk_counts.append(learner.update_progress.minibatches)
    assert chunk_counts[1] > chunk_counts[0]
    assert any("prompts per forward instead of max_prompts_per_forward 16" in line for line in said)
    assert any(line.startswith("LLM policy:") and "body in float32" in line for line in said)
    for name in updates[0]:
        torch.testing.assert_close(updates[1][name], updates[0][name], atol=1e-5, rtol=1e-3)


def test_the_budget_is_a_share_of_the_free_memory_within_a_cgroup_limit(tmp_path, monkeypatch):
    cpu = torch.device("cpu")
    assert chunk_memory.memory_budget_bytes(0, cpu) is None
    assert chunk_memory.memory_budget_bytes(5, cpu) == 5 * 2**20
    free = chunk_memory.free_bytes(cpu)
    assert free and free > 0
    assert chunk_memory.memory_budget_bytes("auto", cpu) <= free
    (tmp_path / "memory.max").write_text("1000000\n")
    (tmp_path / "memory.current").write_text("400000\n")
    monkeypatch.setattr(chunk_memory, "_CGROUP", tmp_path)
    assert chunk_memory.free_bytes(cpu) == 600000
    assert chunk_memory.memory_budget_bytes("auto", cpu) == int(600000 * chunk_memory.AUTO_SHARE)
    (tmp_path / "memory.max").write_text("max\n")
    assert chunk_memory.free_bytes(cpu) == free or chunk_memory.free_bytes(cpu) > 600000
