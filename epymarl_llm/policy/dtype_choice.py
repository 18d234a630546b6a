"""What `llm_dtype: auto` means on this machine, and why.

bfloat16 only where a whole model runs at least 1.5x faster in it than in float32: below that, the
gain does not pay for bf16's probability error (`epymarl-llm bench dtype-error`). A bare GEMM's rate
says little (docs/PERFORMANCE.md, "bf16 on CPUs"). Measured on 2s3z, quiet, two threads:
- CUDA: bf16 (tensor cores; the head, LoRA and log-softmax stay float32 whatever the body's dtype);
- a CPU with AMX-BF16 (Sapphire Rapids), a model whose decoder layers hold at least
  `BF16_MIN_LAYER_WEIGHTS`: bf16. SmolLM2-135M (3.5M weights a layer) ran its rollout 1.76x and its
  every-layer update 1.45-1.62x float32's speed;
- the same CPU, smaller layers: float32. The `small` test model (0.8M a layer) ran 0.98x in bf16:
  its elementwise ops and casts outweigh the matmuls AMX speeds up;
- the same CPU with torch's or oneDNN's kernels capped below AMX (`ATEN_CPU_CAPABILITY`,
  `ONEDNN_MAX_CPU_ISA`): float32, as on the CPUs those caps imitate;
- a CPU with AVX512-BF16 and no AMX (AMD EPYC): 0.31x in bf16: float32;
- any other CPU (AVX2): bf16 is emulated, a GEMM tens of times slower: float32.
`llm_dtype: bfloat16` or `float32` still asks for that dtype anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

_CPUINFO = "/proc/cpuinfo"
# Between the two models measured on the AMX CPU: SmolLM2-135M's 3.5M weights a layer (bf16 1.76x)
# and the `small` test model's 0.8M (0.98x).
BF16_MIN_LAYER_WEIGHTS = 2_000_000
# torch's own kernels (elementwise ops, attention) below AVX512 cannot run bf16 natively.
_NATIVE_BF16_CAPABILITIES = {"AVX512", "AMX"}


@dataclass(frozen=True)
class DtypeChoice:
    """The dtype `auto` resolves to on a device, with the reason a user is shown (doctor)."""

    dtype: torch.dtype
    reason: str
    # The choice would depend on the model's layer size, which was unknown: decide again once loaded.
    needs_layer_size: bool = False


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where it cannot be read: not Linux)."""
    if cpuinfo is None:
        try:
            with open(_CPUINFO, encoding="utf-8") as f:
                cpuinfo = f.read()
        except OSError:
            return set()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return flags


def cpu_bf16_native(cpuinfo: str | None = None) -> bool:
    """True when this CPU computes bf16 in hardware (AMX-BF16 or AVX512-BF16), emulated otherwise."""
    return bool(cpu_flags(cpuinfo) & {"amx_bf16", "avx512_bf16"})


def kernels_capped_below_amx(environ: Mapping[str, str] | None = None, capability: str | None = None) -> str | None:
    """Why torch's kernels may not use AMX on this process, or None when they may.

    Args:
        environ: the environment (default `os.environ`): oneDNN reads `ONEDNN_MAX_CPU_ISA`.
        capability: torch's kernel level (default `torch.backends.cpu.get_cpu_capability()`, which
            `ATEN_CPU_CAPABILITY` lowers).
    """
    environ = os.environ if environ is None else environ
    if capability is None:
        capability = torch.backends.cpu.get_cpu_capability()
    if capability.upper() not in _NATIVE_BF16_CAPABILITIES:
        return f"torch's kernels run at {capability} (ATEN_CPU_CAPABILITY)"
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        isa = environ.get(name, "").strip().upper()
        if isa and isa != "ALL" and "AMX" not in isa:
            return f"oneDNN is capped at {isa} ({name})"
    return None


def auto_dtype(
    device: torch.device,
    cpuinfo: str | None = None,
    layer_weights: int | Callable[[], int | None] | None = None,
    environ: Mapping[str, str] | None = None,
    capability: str | None = None,
) -> DtypeChoice:
    """The body dtype `llm_dtype: auto` picks on `device` (module docstring: the measurements).

    Args:
        layer_weights: the weights of one decoder layer of the model (or a function that counts
            them, called only where the answer depends on it); None: unknown, float32 on a CPU.
        environ, capability: see `kernels_capped_below_amx`.
    """
    if device.type == "cuda":
        return DtypeChoice(torch.bfloat16, "bf16 on CUDA (tensor cores; LoRA, head and log-probs stay float32)")
    flags = cpu_flags(cpuinfo)
    if "amx_bf16" in flags:
        capped = kernels_capped_below_amx(environ, capability)
        if capped is not None:
            return DtypeChoice(
                torch.float32, f"float32: the CPU has AMX-BF16, but {capped}, so bf16 would not run on AMX"
            )
        weights = layer_weights() if callable(layer_weights) else layer_weights
        rule = (
            f"bf16 from {BF16_MIN_LAYER_WEIGHTS / 1e6:g}M weights a decoder layer: SmolLM2-135M's 3.5M ran its "
            "rollout 1.76x and its update 1.45-1.62x float32, the small test model's 0.8M ran 0.98x"
        )
        if weights is None:
            return DtypeChoice(
                torch.float32,
                f"bf16 or float32 by the model: the CPU has AMX-BF16 ({rule}); float32 where the layers' size is unknown",
                needs_layer_size=True,
            )
        if weights >= BF16_MIN_LAYER_WEIGHTS:
            return DtypeChoice(
                torch.bfloat16,
                f"bf16: the CPU has AMX-BF16 and the model's layers hold {weights / 1e6:.1f}M weights ({rule})",
            )
        return DtypeChoice(
            torch.float32,
            f"float32: the CPU has AMX-BF16 but the model's layers hold {weights / 1e6:.1f}M weights ({rule})",
        )
    if "avx512_bf16" in flags:
        return DtypeChoice(
            torch.float32,
            "float32: the CPU has AVX512-BF16 but no AMX, and a bf16 body measured 0.31x float32 end to end",
        )
    return DtypeChoice(
        torch.float32, "float32: the CPU has no native bf16 (no AMX-BF16 or AVX512-BF16), bf16 would be emulated"
    )
