"""Returns as EPyMARL's MAPPO computes them, so a comparison with `--config=mappo` is fair.

`nstep_returns` follows EPyMARL's `PPOLearner.nstep_returns` (src/learners/ppo_learner.py) term by
term, including its treatment of the last step (`add_value_last_step`), vectorised over start times;
the terms of each return are added in the same order, so results match it to the last bit.
`RunningMeanStd` follows EPyMARL's `components/standarize_stream.py` (Chan et al.'s parallel update).
"""

from __future__ import annotations

import torch


def nstep_returns(
    rewards: torch.Tensor,
    mask: torch.Tensor,
    values: torch.Tensor,
    nsteps: int,
    gamma: float,
    add_value_last_step: bool = True,
) -> torch.Tensor:
    """n-step bootstrapped returns G_t = sum_{k<n} g^k r_{t+k} m_{t+k} + g^n V_{t+n} m_{t+n}.

    Args:
        rewards: (B, T, N) rewards of the T transitions.
        mask: (B, T, N) 1 on valid transitions (filled and not after termination).
        values: (B, T + 1, N) value estimates of the T + 1 states (bootstrap targets).
        nsteps: n (EPyMARL's `q_nstep`); the sum stops early at the end of the batch.
        gamma: discount.
        add_value_last_step: at the batch's last transition, bootstrap with V_{T} unmasked
            (EPyMARL's `add_value_last_step`, default True).
    Returns:
        (B, T, N) returns.
    """
    if values.shape[1] != rewards.shape[1] + 1:
        raise ValueError(f"values need T + 1 = {rewards.shape[1] + 1} steps, got {values.shape[1]}")
    horizon = rewards.shape[1]
    returns = torch.zeros_like(values[:, :-1])
    for step in range(nsteps + 1):
        if step >= horizon:
            break
        # Start times t0 whose term `step` exists: t = t0 + step < horizon.
        t0 = slice(0, horizon - step)
        t = slice(step, horizon)
        if step == nsteps:
            returns[:, t0] += gamma**step * values[:, t] * mask[:, t]
            continue
        returns[:, t0] += gamma**step * rewards[:, t] * mask[:, t]
        if add_value_last_step:
            # The start time whose term `step` lands on the last transition also bootstraps from V_T.
            returns[:, horizon - 1 - step] += gamma ** (step + 1) * values[:, horizon]
    return returns


class RunningMeanStd:
    """Running mean and variance over the last dimension's entries (Chan et al.'s parallel update)."""

    def __init__(self, shape: tuple[int, ...], epsilon: float = 1e-4, device: str | torch.device = "cpu"):
        self.mean = torch.zeros(shape, dtype=torch.float32, device=device)
        self.var = torch.ones(shape, dtype=torch.float32, device=device)
        self.count = epsilon

    def update(self, values: torch.Tensor) -> None:
        """Fold in every row of `values` (..., shape[-1]); variance is the unbiased one, as EPyMARL."""
        rows = values.reshape(-1, values.shape[-1])
        self.update_from_moments(rows.mean(0), rows.var(0), rows.shape[0])

    def update_from_moments(self, batch_mean: torch.Tensor, batch_var: torch.Tensor, batch_count: int) -> None:
        delta = batch_mean - self.mean
        total = self.count + batch_count
        m2 = self.var * self.count + batch_var * batch_count + delta.square() * self.count * batch_count / total
        self.mean = self.mean + delta * batch_count / total
        self.var = m2 / total
        self.count = total

    def normalise(self, values: torch.Tensor) -> torch.Tensor:
        return (values - self.mean) / torch.sqrt(self.var)

    def denormalise(self, values: torch.Tensor) -> torch.Tensor:
        return values * torch.sqrt(self.var) + self.mean

    def to(self, device: str | torch.device) -> RunningMeanStd:
        self.mean, self.var = self.mean.to(device), self.var.to(device)
        return self

    def state_dict(self) -> dict:
        return {"mean": self.mean.cpu(), "var": self.var.cpu(), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        if state["mean"].shape != self.mean.shape:
            raise ValueError(
                f"saved statistics have shape {tuple(state['mean'].shape)}, "
                f"this run needs {tuple(self.mean.shape)} (another number of agents?)"
            )
        device = self.mean.device
        self.mean, self.var, self.count = state["mean"].to(device), state["var"].to(device), state["count"]
