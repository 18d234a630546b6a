"""The learner's levers: pi_old from the rollout, gradient checkpointing in training, the weights'
version that keys the prefix cache (fused optimisers), dropout off in every pass, bf16 on CPUs."""

import pytest
import torch

from epymarl_llm.learner import losses
from epymarl_llm.learner.episode_tensors import EpisodeTensors
from epymarl_llm.learner.rollout_record import RolloutRecord
from epymarl_llm.policy import backbone
from epymarl_llm.prompts import load_map_layout
from epymarl_llm_tools.bench.episodes import replay_rollout, synthetic_episodes
from tests.perf.perf_learners import learner_for

MAP = "3s5z_vs_3s6z"


@pytest.fixture(scope="module")
def layout():
    return load_map_layout(MAP, env="sc2")


@pytest.fixture(scope="module")
def episodes(layout):
    return synthetic_episodes(layout, episodes=2, length=3, seed=5)


def make_learner(make_policy, layout, **policy_keys):
    return learner_for(make_policy(**policy_keys), layout)


def trained_lora(policy):
    return {n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad}


def capture_ratios(monkeypatch) -> list[torch.Tensor]:
    ratios = []
    original = losses.clipped_surrogate

    def capturing(*args, **kwargs):
        surrogate, ratio = original(*args, **kwargs)
        ratios.append(ratio.detach().clone())
        return surrogate, ratio

    monkeypatch.setattr(losses, "clipped_surrogate", capturing)
    return ratios


def _counting(calls: list, fn):
    """`fn`, appending to `calls` once per call (bound here, not by the loop that builds it)."""
    return lambda *a, **k: calls.append(1) or fn(*a, **k)


def _noting_backward_forwards(in_backward: list):
    """A forward hook noting, per forward, whether it runs inside a backward (checkpointing's recomputation)."""
    return lambda *a: in_backward.append(torch._C._current_graph_task_id() != -1)


# --- pi_old from the rollout --------------------------------------------------------------------------
def test_pi_old_from_the_rollout_gives_the_pass_update_and_skips_the_pass(make_policy, layout, episodes, monkeypatch):
    updates, sources, calls = [], [], []
    for from_rollout in (False, True):
        learner, mac = make_learner(make_policy, layout)
        learner.config.pi_old_from_rollout = from_rollout
        batch = EpisodeTensors({k: v.clone() for k, v in episodes.items()})
        replay_rollout(mac.rollout_record, mac.policy, mac.prompt_encoder, batch)
        counted = []
        original = mac.policy.forward
        monkeypatch.setattr(mac.policy, "forward", _counting(counted, original))
        learner.train(batch, 0, 0)
        updates.append(trained_lora(mac.policy))
        sources.append(learner.pi_old_source)
        calls.append(len(counted))
    assert sources == ["pass", "rollout"]
    assert calls[1] < calls[0]  # the old-policy forwards are gone (the reference's remain)
    for name in updates[0]:
        torch.testing.assert_close(updates[1][name], updates[0][name], atol=1e-5, rtol=1e-3)


def test_pi_old_falls_back_to_the_pass_off_policy_or_after_a_weight_change(make_policy, layout, episodes):
    learner, mac = make_learner(make_policy, layout)
    played = EpisodeTensors({k: v.clone() for k, v in episodes.items()})
    replay_rollout(mac.rollout_record, mac.policy, mac.prompt_encoder, played)
    # the same episodes in another order: a sample of a larger buffer, not the batch just played
    other = EpisodeTensors({k: v.flip(0).clone() for k, v in episodes.items()})
    learner.train(other, 0, 0)
    assert learner.pi_old_source == "pass"
    learner.train(played, 0, 0)  # the right batch, but the weights took optimiser steps since
    assert learner.pi_old_source == "pass"
    replay_rollout(mac.rollout_record, mac.policy, mac.prompt_encoder, played)
    mac.policy.load_state_dict(mac.policy.state_dict())  # any load changes the version
    learner.train(played, 0, 0)
    assert learner.pi_old_source == "pass"


def test_record_only_answers_for_the_batch_it_recorded(episodes):
    record = RolloutRecord()
    batch = EpisodeTensors(episodes)
    n, a = episodes["avail_actions"].shape[2:]
    record.record(batch, 0, [0, 1], torch.full((2, n, a), 0.5), weights_version=3)
    got = record.lookup(batch, 3)
    assert got is not None and bool((got[:, 0] == 0.5).all()) and bool(got[:, 1].isnan().all())
    assert record.lookup(batch, 4) is None
    cut = EpisodeTensors({k: v[:, :2] for k, v in episodes.items()})  # EPyMARL's max_t_filled cut
    assert record.lookup(cut, 3) is not None
    record.record(batch, 1, [0], torch.full((1, n, a), 0.5), weights_version=4)  # weights changed mid-rollout
    assert record.lookup(batch, 4) is None


# --- gradient checkpointing in the learner -------------------------------------------------------------
def test_learner_checkpoints_layers_and_first_ratio_is_exactly_one(make_policy, layout, episodes, monkeypatch):
    recomputed = {}
    for ckpt in (False, True):
        learner, mac = make_learner(make_policy, layout, gradient_checkpointing=ckpt)
        learner.config.pi_old_from_rollout = False
        # A module inside the layer: transformers checkpoints the layer's inner call, so a hook on the
        # layer itself fires once, while its submodules run again during backward (the recomputation).
        attention_input = mac.policy.model.base_model.model.layers[0].self_attn.q_proj
        in_backward = []  # forwards that run inside a backward: checkpointing's recomputation
        handle = attention_input.register_forward_hook(_noting_backward_forwards(in_backward))
        ratios = capture_ratios(monkeypatch)
        learner.train(EpisodeTensors(episodes), 0, 0)
        handle.remove()
        recomputed[ckpt] = sum(in_backward)
        n_chunks = len(
            mac.policy.row_groups(mac.prompt_encoder.encode(*_live_inputs(episodes, layout)), 16, with_grad=True)
        )
        first = torch.cat(ratios[:n_chunks])
        assert bool((first == 1).all()), f"gradient_checkpointing={ckpt}: first epoch's ratio differs from 1"
    assert recomputed[False] == 0 and recomputed[True] > 0


def _live_inputs(episodes, layout):
    from epymarl_llm.learner.agent_steps import gather_live_steps, team_masks

    batch = EpisodeTensors(episodes)
    steps = gather_live_steps(batch, team_masks(batch, layout.n_agents).live)
    return steps.obs, steps.avail, steps.agent_ids


# --- the prefix cache's key: fused optimisers ----------------------------------------------------------
def test_a_fused_adam_step_in_the_learner_invalidates_the_cached_prefix(make_policy, layout, episodes, step):
    tokens, avail = step
    learner, mac = make_learner(make_policy, layout)
    policy = mac.policy
    learner.agent_optimiser = torch.optim.Adam(learner.agent_params, lr=1e-2, fused=True)
    with torch.no_grad():
        policy.forward_chunked(tokens, avail)  # caches the policy prefix
    versions = [p._version for p in policy._lora_params]
    learner.train(EpisodeTensors(episodes), 0, 0)
    assert [p._version for p in policy._lora_params] == versions  # fused Adam bumps no counter
    plain = make_policy(prefix_cache=False)
    plain.load_state_dict(policy.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(
            policy.forward_chunked(tokens, avail).softmax(-1),
            plain.forward_chunked(tokens, avail).softmax(-1),
            atol=2e-6,
            rtol=1e-4,
        )


# --- dropout: one rule ---------------------------------------------------------------------------------
def test_every_dropout_is_off_in_training_mode_too(make_policy):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))
    model.attention_dropout = 0.3
    backbone.disable_dropout(model)
    model.train()
    x = torch.ones(64, 4)
    assert torch.equal(model(x), model(x)) and model.attention_dropout == 0.0
    policy = make_policy()
    assert all(m.p == 0 for m in policy.modules() if isinstance(m, torch.nn.Dropout))


# --- bf16 on CPUs that have it ----------------------------------------------------------------------------
AMX = "processor : 0\nflags : fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AVX512_BF16 = "flags : fpu avx512f avx512_bf16\n"
AVX2 = "flags : fpu sse avx2 fma\n"
# One decoder layer: SmolLM2-135M's (bf16 ran 1.76x float32 on an AMX CPU), the small test model's (0.98x).
SMOLLM2_LAYER, SMALL_LAYER = 3_540_096, 787_072


def auto_on_cpu(cpuinfo, layer_weights, environ=None, capability="AVX512"):
    from epymarl_llm.policy.dtype_choice import auto_dtype

    return auto_dtype(torch.device("cpu"), cpuinfo, layer_weights, environ or {}, capability)


def test_auto_dtype_is_bf16_only_where_measured_faster():
    assert auto_on_cpu(AMX, SMOLLM2_LAYER).dtype == torch.bfloat16
    assert auto_on_cpu(AMX, SMALL_LAYER).dtype == torch.float32
    assert auto_on_cpu(AMX, None).dtype == torch.float32  # the model's size unknown
    # native bf16 GEMMs, yet SmolLM2 ran at 0.31x float32 (avx512_bf16 without AMX); emulated on AVX2
    for flags in (AVX512_BF16, AVX2, ""):
        assert auto_on_cpu(flags, SMOLLM2_LAYER).dtype == torch.float32
    cpu = torch.device("cpu")
    assert backbone.resolve_dtype("float32", cpu, cpuinfo=AMX, layer_weights=SMOLLM2_LAYER) == torch.float32
    assert backbone.resolve_dtype("bfloat16", cpu, cpuinfo=AVX2) == torch.bfloat16
    assert backbone.resolve_dtype("auto", torch.device("cuda"), cpuinfo=AVX2) == torch.bfloat16


def test_auto_dtype_keeps_float32_where_the_kernels_are_capped_below_amx():
    assert auto_on_cpu(AMX, SMOLLM2_LAYER, capability="AVX2").dtype == torch.float32
    for isa in ("AVX2", "avx512_core_bf16"):
        assert auto_on_cpu(AMX, SMOLLM2_LAYER, {"ONEDNN_MAX_CPU_ISA": isa}).dtype == torch.float32
    for isa in ("AVX512_CORE_AMX", "ALL"):
        assert auto_on_cpu(AMX, SMOLLM2_LAYER, {"ONEDNN_MAX_CPU_ISA": isa}).dtype == torch.bfloat16
    assert "ONEDNN_MAX_CPU_ISA" in auto_on_cpu(AMX, SMOLLM2_LAYER, {"ONEDNN_MAX_CPU_ISA": "AVX2"}).reason


def test_auto_dtype_counts_the_layer_only_where_it_decides():
    counted = []

    def count():
        counted.append(True)
        return SMOLLM2_LAYER

    for flags in (AVX2, AVX512_BF16):
        assert auto_on_cpu(flags, count).dtype == torch.float32
    assert auto_on_cpu(AMX, count, capability="AVX2").dtype == torch.float32
    assert not counted
    assert auto_on_cpu(AMX, count).dtype == torch.bfloat16 and counted == [True]


def test_each_auto_choice_says_why():
    reasons = {
        auto_on_cpu(flags, weights).reason
        for flags, weights in ((AVX2, None), (AVX512_BF16, None), (AMX, None), (AMX, SMOLLM2_LAYER))
    }
    assert len(reasons) == 4 and all("bf16" in r for r in reasons)


def test_the_layer_counted_from_the_config_is_the_loaded_one(make_policy, model_dir):
    policy = make_policy()
    assert backbone.config_layer_weights(str(model_dir)) == policy._layer_weights
    assert backbone.config_layer_weights(str(model_dir / "missing")) is None


def test_auto_on_an_amx_cpu_picks_by_layer_size_and_int8_keeps_float32(make_policy, monkeypatch):
    from epymarl_llm.policy import dtype_choice

    monkeypatch.setattr(dtype_choice, "cpu_flags", lambda cpuinfo=None: {"amx_bf16", "amx_tile"})
    monkeypatch.setattr(dtype_choice, "kernels_capped_below_amx", lambda environ=None, capability=None: None)
    assert make_policy(llm_dtype="auto").backbone_dtype == torch.float32  # the tiny model's layers
    monkeypatch.setattr(dtype_choice, "BF16_MIN_LAYER_WEIGHTS", 1)
    assert make_policy(llm_dtype="auto").backbone_dtype == torch.bfloat16
    int8 = make_policy(llm_dtype="auto", lora_layers=1, lower_layers_int8=True)
    assert int8.backbone_dtype == torch.float32
    assert "body in float32" in int8.summary() and "lower_layers_int8" in int8.summary()
    assert "body in bfloat16 (llm_dtype=bfloat16)" in make_policy(llm_dtype="bfloat16").summary()


def test_auto_decides_once_loaded_where_the_config_was_not_on_the_machine(make_policy, monkeypatch):
    from epymarl_llm.policy import dtype_choice

    monkeypatch.setattr(dtype_choice, "cpu_flags", lambda cpuinfo=None: {"amx_bf16", "amx_tile"})
    monkeypatch.setattr(dtype_choice, "kernels_capped_below_amx", lambda environ=None, capability=None: None)
    monkeypatch.setattr(dtype_choice, "BF16_MIN_LAYER_WEIGHTS", 1)
    monkeypatch.setattr(backbone, "config_layer_weights", lambda llm_model: None)  # a hub model not downloaded yet
    policy = make_policy(llm_dtype="auto")
    assert policy.backbone_dtype == torch.bfloat16 and not policy.dtype_choice.needs_layer_size
    assert {p.dtype for n, p in policy.model.named_parameters() if "lora_" not in n} == {torch.bfloat16}
    assert "bf16: the CPU has AMX-BF16" in policy.summary()


def test_bf16_body_gives_fp32_probabilities_close_to_the_fp32_body(make_policy, step):
    tokens, avail = step
    fp32, bf16 = make_policy(llm_dtype="float32"), make_policy(llm_dtype="bfloat16")
    with torch.no_grad():
        p32 = fp32.forward_chunked(tokens, avail).softmax(-1)
        p16 = bf16.forward_chunked(tokens, avail)
        assert p16.dtype == torch.float32  # head, log-softmax and ratios stay fp32
        torch.testing.assert_close(p16.softmax(-1), p32, atol=3e-2, rtol=0)
