"""How many prompts one gradient forward of the update may hold, from the memory it finds.

A backward through every decoder layer keeps each layer's activations for every token of the
forward until the backward frees them. For SmolLM2-135M in float32 that is about 1.6 MiB per suffix
token, so the default 64 prompts of a 2s3z batch (about 300 tokens each) need some 26 GiB: the
update is killed for memory on a 24 GiB machine, after the rollout it was given. The number of
prompts per forward changes nothing but memory and speed (gradients are accumulated chunk by chunk
into the full-batch step), so it is sized here to the memory the machine has.

The size comes from a measurement, not a model of the architecture: a gradient forward of the
batch's longest prompt, once alone and once twice, with autograd's saved-tensor hooks counting the
bytes kept for backward (parameters excluded). The difference is what one more prompt costs; the
rest (the shared prefix, run once per forward) is paid once per chunk.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from epymarl_llm.token_batch import TokenBatch

# The share of the free memory the epochs' saved activations may take. The backward allocates the
# activations' gradients on top, and the allocator keeps freed blocks: with half the free memory
# allowed, SmolLM2's every-layer update on a 24 GiB machine reached 16.8 GiB resident and left
# 1.5 GiB available beside another run. A quarter keeps a margin.
AUTO_SHARE = 0.25
_CGROUP = Path("/sys/fs/cgroup")


def memory_budget_bytes(setting: int | str, device: torch.device) -> int | None:
    """The bytes the epochs' activations may take: `setting` MiB, `"auto"` (a share of what is free) or None (0: off)."""
    if setting == "auto":
        free = free_bytes(device)
        return None if free is None else int(free * AUTO_SHARE)
    return int(setting) * 2**20 if int(setting) > 0 else None


def free_bytes(device: torch.device) -> int | None:
    """Memory free for the update on `device`: the GPU's, or the host's within its cgroup limit; None if unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        # Blocks the caching allocator holds but no tensor uses are free to this process too.
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type != "cpu":
        return None
    host = _mem_available()
    limit = _cgroup_room()
    if host is None:
        return limit
    return host if limit is None else min(host, limit)


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # not Linux: the free pages, an underestimate (no reclaimable cache)
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_room() -> int | None:
    """A cgroup v2 memory limit less what the group uses (batch schedulers such as SLURM set one)."""
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((_CGROUP / "memory.current").read_text()), 0)
    except (OSError, ValueError):
        return None


def saved_activation_bytes(policy, rows: TokenBatch, avail: torch.Tensor) -> int:
    """Bytes autograd keeps for the backward of one gradient forward of `rows`, parameters and buffers excluded.

    Tensors are counted by storage, so views of one buffer count once. Frozen layers whose input
    needs no gradient save nothing, so with `lora_layers: K` this is the top K layers' share.
    """
    weights = {t.untyped_storage().data_ptr() for t in (*policy.parameters(), *policy.buffers())}
    kept: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        logits = policy(rows, avail)
    del logits  # frees the graph and with it every saved tensor
    return sum(kept.values())


class PromptsPerForward:
    """The prompts one gradient forward may hold, measured at the longest prompt seen so far.

    A prompt's activations grow with its length, so a measurement at the longest prompt seen bounds
    every shorter one: the probe runs again only when a batch brings a longer prompt (in practice
    once or twice a run), and each update divides its own budget by the cost measured.
    """

    def __init__(self) -> None:
        self.length = 0  # the probed prompt's length; 0: nothing measured yet
        self.per_prompt = self.shared = 0

    def within(self, policy, tokens: TokenBatch, avail: torch.Tensor, budget_bytes: int, max_rows: int) -> int:
        """At most `max_rows`, at least 1: the epochs' saved activations within `budget_bytes`.

        Every chunk's rows are padded to the chunk's longest, so the batch's longest prompt bounds them all.
        """
        longest = int(tokens.lengths.argmax())
        if int(tokens.lengths[longest]) > self.length:
            self.per_prompt, self.shared = _probe(policy, tokens, avail, longest)
            self.length = int(tokens.lengths[longest])
        fitting = (budget_bytes - self.shared) // self.per_prompt
        return int(max(1, min(max_rows, fitting)))


def _probe(policy, tokens: TokenBatch, avail: torch.Tensor, row: int) -> tuple[int, int]:
    """(bytes one more prompt of row `row` keeps, bytes a forward keeps whatever its rows: the shared prefix)."""
    one, two = torch.tensor([row]), torch.tensor([row, row])
    alone = saved_activation_bytes(policy, tokens.select(one), avail[one])
    twice = saved_activation_bytes(policy, tokens.select(two), avail[two])
    per_prompt = max(twice - alone, 1)
    return per_prompt, max(alone - per_prompt, 0)
