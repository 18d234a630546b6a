"""FLOPs per agent-step from the model's shape and the prompt lengths, and device peaks.

Counted: the backbone's matmuls (attention projections, MLP, LoRA) and attention's QK^T and AV
over each prompt's causal context, 2 FLOPs per multiply-add. Not counted: the vocabulary
projection (the policy never needs it), norms, rotary, softmax, the action head (all small).
Every implementation is credited the same useful work: the full prompt without padding, with the
prefix counted for every prompt, so achieved FLOP/s compares fairly and a shortcut shows as speed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

# Dense bf16 peaks (FLOP/s, no sparsity): datasheet values, except the H200's, which is the sustained
# bf16 matmul rate seen on the H200 machines this project is benchmarked on.
DEVICE_PEAKS: dict[str, float] = {"H200": 790e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def model_shape(model_dir: str | Path) -> dict:
    """The facts of a transformers config.json that the count needs."""
    config = json.loads((Path(model_dir) / "config.json").read_text())
    heads = config["num_attention_heads"]
    return {
        "hidden": config["hidden_size"],
        "layers": config["num_hidden_layers"],
        "heads": heads,
        "kv_heads": config.get("num_key_value_heads", heads),
        "head_dim": config.get("head_dim") or config["hidden_size"] // heads,
        "intermediate": config["intermediate_size"],
    }


def forward_flops(shape: dict, lengths: torch.Tensor, lora_rank: int = 0) -> float:
    """Mean forward FLOPs per prompt of the given lengths (LoRA on every projection if rank > 0)."""
    h, q, kv, i = (
        shape["hidden"],
        shape["heads"] * shape["head_dim"],
        shape["kv_heads"] * shape["head_dim"],
        shape["intermediate"],
    )
    linears = [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]  # q k v o gate up down
    per_token = sum(a * b for a, b in linears) + lora_rank * sum(a + b for a, b in linears)
    lengths = lengths.double()
    matmul = 2.0 * per_token * lengths
    # causal attention: token t attends to t keys; QK^T and AV are 2 multiply-adds per (key, dim)
    attention = 2.0 * 2.0 * q * lengths * (lengths + 1) / 2
    return float((shape["layers"] * (matmul + attention)).mean())


def learner_flops_per_forward(
    epochs: int, with_reference: bool, old_pass: bool = True, checkpointing: bool = False
) -> float:
    """Forward-equivalents per agent-step of one `train()`, as run.

    Old policy (1, unless pi_old comes from the rollout) + reference (1 with the KL term) + per
    epoch a forward and a backward (+ a recomputed forward with gradient checkpointing). The body
    is frozen, so backward computes activation gradients only (about one forward), not weight
    gradients.
    """
    per_epoch = 2.0 + (1.0 if checkpointing else 0.0)
    return (1.0 if old_pass else 0.0) + (1.0 if with_reference else 0.0) + per_epoch * epochs


def gemm_peak(shape: dict, device: torch.device, dtype: torch.dtype, rows: int = 2048, repeats: int = 5) -> float:
    """Achieved FLOP/s of one (rows x hidden) @ (hidden x intermediate) GEMM: the model's MLP shape.

    The bench's matmul peak of the device and dtype in use, measured in the same run, so that a
    fraction of it says how much of what this machine can do the policy gets (CPU or GPU).
    """
    a = torch.randn(rows, shape["hidden"], device=device, dtype=dtype)
    b = torch.randn(shape["hidden"], shape["intermediate"], device=device, dtype=dtype)
    for _ in range(2):
        a @ b  # warm-up: kernel choice, allocator
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(4):
            a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, (time.perf_counter() - start) / 4)
    return 2.0 * rows * shape["hidden"] * shape["intermediate"] / best


def device_peak(device: torch.device, override: float | None = None) -> tuple[float | None, str]:
    """(bf16 peak FLOP/s or None, its source): an override, a known GPU name, or unknown (CPU)."""
    if override:
        return override, "--peak-tflops"
    if device.type != "cuda":
        return None, "no peak for CPUs"
    name = torch.cuda.get_device_name(device)
    for key, peak in DEVICE_PEAKS.items():
        if key in name:
            return peak, f"{key} dense bf16"
    return None, f"unknown GPU {name!r}: pass --peak-tflops"
