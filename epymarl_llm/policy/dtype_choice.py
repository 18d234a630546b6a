"""What `llm_dtype: auto` means on this machine, and why.

bfloat16 only where a whole model runs at least 1.5x faster in it than in float32: below that, the
gain does not pay for bf16's probability error (`epymarl-llm bench dtype-error`). A bare GEMM's rate says little
(docs/PERFORMANCE.md, "bf16 on CPUs"). Measured with SmolLM2-135M's rollout (2s3z, 4 envs):
- CUDA: bf16 (tensor cores; the head, LoRA and log-softmax stay float32 whatever the body's dtype);
- a CPU with AMX-BF16 (Sapphire Rapids): 1.17x float32's speed in bf16, though its bf16 GEMM ran at
  3.7x float32's: float32;
- a CPU with AVX512-BF16 and no AMX (AMD EPYC): 0.31x in bf16: float32;
- any other CPU (AVX2): bf16 is emulated, a GEMM tens of times slower: float32.
`llm_dtype: bfloat16` still asks for bf16 anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_CPUINFO = "/proc/cpuinfo"


@dataclass(frozen=True)
class DtypeChoice:
    """The dtype `auto` resolves to on a device, with the reason a user is shown (doctor)."""

    dtype: torch.dtype
    reason: str


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


def auto_dtype(device: torch.device, cpuinfo: str | None = None) -> DtypeChoice:
    """The body dtype `llm_dtype: auto` picks on `device` (module docstring: the measurements)."""
    if device.type == "cuda":
        return DtypeChoice(torch.bfloat16, "CUDA: bf16 body on tensor cores (LoRA, head and log-probs in float32)")
    flags = cpu_flags(cpuinfo)
    if "amx_bf16" in flags:
        return DtypeChoice(torch.float32, "CPU with AMX-BF16: a bf16 body measured only 1.17x float32 end to end")
    if "avx512_bf16" in flags:
        return DtypeChoice(
            torch.float32, "CPU with AVX512-BF16 but no AMX: a bf16 body measured 0.31x float32 end to end"
        )
    return DtypeChoice(torch.float32, "CPU without native bf16 (no AMX-BF16 or AVX512-BF16): bf16 is emulated")
