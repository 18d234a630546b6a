"""The policy benchmark's batch and worker (smoke: the figures themselves are never asserted)."""

import torch

from epymarl_llm_tools.bench.policy_speed import bench_batch, worker


def test_bench_batch_is_a_consistent_3s5z_vs_3s6z_batch(tiny_model_dir):
    from transformers import AutoTokenizer

    batch, avail = bench_batch(AutoTokenizer.from_pretrained(tiny_model_dir), rows=10)
    assert avail.shape == (10, 6 + 9) and batch.target_spans.shape == (10, 9, 2)  # 9 enemies
    assert torch.equal(batch.attention_mask.sum(1), batch.lengths)
    assert (batch.input_ids[:, : batch.prefix_len] == batch.input_ids[:1, : batch.prefix_len]).all()
    attackable = avail[:, 6:]
    assert (batch.target_spans[..., 1][attackable] > batch.target_spans[..., 0][attackable]).all()


def test_worker_reports_every_figure(tiny_model_dir):
    for kind in ("backbone", "policy"):
        result = worker(kind, str(tiny_model_dir), rows=2, repeats=1, prefix_cache=kind == "policy", device_name="cpu")
        assert result["forward_s"] > 0 and result["peak_mib"] > 0 and result["total_params"] > 0
    assert 0 < result["trained_params"] < result["total_params"] and result["checkpoint_bytes"] > 0 and result["finite"]
