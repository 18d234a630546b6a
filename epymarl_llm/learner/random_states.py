"""The global random streams of a run, saved with a checkpoint and restored when it is resumed.

EPyMARL seeds torch, numpy and Python's `random` from `seed` when a run starts, also a resumed
one, so without this a resumed run would sample its actions from the start of those streams, not
from where the saved run stopped. Restored only for resumed training (same map): an evaluation
or a transfer run is a new run and keeps its own seed's streams.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture() -> dict[str, Any]:
    """torch (CPU and every CUDA device), numpy and Python's global random states."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def restore(state: dict[str, Any]) -> list[str]:
    """Set the global random states to `state`; returns the notes of what could not be restored."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    cuda = state.get("cuda") or []
    if not cuda:
        return []
    if torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)
        return []
    return [f"CUDA random states of {len(cuda)} device(s) not restored: this run sees another device count"]
