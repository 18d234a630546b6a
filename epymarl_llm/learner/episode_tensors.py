"""`EpisodeTensors`: the learner's batch built outside EPyMARL (benchmarks, tests).

It lives with the learner, whose batch it stands for, so that whoever trains the learner on recorded
or synthetic episodes needs nothing from the benchmarks.
"""

from __future__ import annotations

import torch


class EpisodeTensors:
    """The parts of EPyMARL's EpisodeBatch the learners read, filled as its episode runner fills them."""

    def __init__(self, data: dict[str, torch.Tensor]):
        self.data = data
        self.batch_size, self.max_seq_length = data["obs"].shape[:2]
        self.device = data["obs"].device

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.data[key]

    def to(self, device) -> EpisodeTensors:
        return EpisodeTensors({k: v.to(device) for k, v in self.data.items()})
