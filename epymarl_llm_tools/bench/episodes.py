"""Benchmark inputs: one rollout step's observation rows, and EPyMARL-shaped episode batches.

Rollout rows are plausible random observations of the map (`epymarl_llm.prompts.random_observations`,
the same generator the prompt tests use). Learner batches are real SMAClite episodes with random
actions when SMAClite is installed, else synthetic episodes built from the same random observations
(the learner's cost depends on prompt lengths and episode shapes, not on the game's dynamics).
"""

from __future__ import annotations

import numpy as np
import torch


def step_rows(layout, n_envs: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of `n_envs` parallel envs: obs (n_envs, n_agents, obs_size), avail (n_envs, n_agents, n_actions) int."""
    from epymarl_llm.prompts import random_observations

    parts = [random_observations(layout, n_envs, seed=seed * 1000 + a, agent_id=a) for a in range(layout.n_agents)]
    obs = np.stack([p[0] for p in parts], axis=1)
    avail = np.stack([p[1] for p in parts], axis=1)
    return torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(avail, dtype=torch.int32)


def smaclite_available() -> bool:
    try:
        import smaclite  # noqa: F401
    except ImportError:
        return False
    return True


# EPyMARL's smaclite.yaml wraps every env in a TimeLimit of 150 steps; without it random-action
# episodes (units that only stop and move) can run for thousands of steps.
EPYMARL_SMACLITE_TIME_LIMIT = 150


def collect_episodes(
    map_name: str, episodes: int, seed: int, time_limit: int = EPYMARL_SMACLITE_TIME_LIMIT
) -> dict[str, torch.Tensor]:
    """Random-action SMAClite episodes in EPyMARL's layout: T = longest episode + 1 (the final state).

    Episodes end at `time_limit` steps as under EPyMARL (truncated, not terminated).
    """
    from smaclite.env.maps.map import MapPreset
    from smaclite.env.smaclite import SMACliteEnv

    preset = {p.value.name: p.value for p in MapPreset}
    if map_name not in preset:
        raise ValueError(
            f"{map_name!r} is not a SMAClite preset ({', '.join(sorted(preset))}): use --episodes-from synthetic"
        )
    env = SMACliteEnv(map_info=preset[map_name], seed=seed)
    rng = np.random.default_rng(seed)
    runs = []
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        steps, done = [], False
        while not done:
            avail = np.array(env.get_avail_actions(), dtype=np.float32)
            actions = [int(rng.choice(np.flatnonzero(row))) for row in avail]
            state = env.get_state()
            new_obs, reward, terminated, truncated, _ = env.step(actions)
            steps.append((np.stack(obs), state, avail, actions, reward, terminated))
            truncated = truncated or len(steps) >= time_limit
            obs, done = new_obs, terminated or truncated
        final = (np.stack(obs), env.get_state(), np.array(env.get_avail_actions(), dtype=np.float32))
        runs.append((steps, final))
    env.close()
    return _pack(runs)


def synthetic_episodes(layout, episodes: int, length: int, seed: int) -> dict[str, torch.Tensor]:
    """`episodes` episodes of `length` steps from random observations, random states and rewards."""
    rng = np.random.default_rng(seed)
    runs = []
    for e in range(episodes):
        steps = []
        for t in range(length + 1):
            obs, avail = (x[0].numpy() for x in step_rows(layout, 1, seed=seed * 10_000 + e * 1000 + t))
            avail = avail.astype(np.float32)
            state = rng.uniform(0, 1, layout.state_size).astype(np.float32)
            actions = [int(rng.choice(np.flatnonzero(row))) for row in avail]
            steps.append((obs, state, avail, actions, float(rng.normal()), t == length - 1))
        runs.append((steps[:-1], steps[-1][:3]))
    return _pack(runs)


def _pack(runs) -> dict[str, torch.Tensor]:
    episodes = len(runs)
    t_max = max(len(s) for s, _ in runs) + 1
    n, obs_size = runs[0][1][0].shape
    n_actions, state_size = runs[0][1][2].shape[1], runs[0][1][1].shape[0]
    out = {
        "obs": torch.zeros(episodes, t_max, n, obs_size),
        "state": torch.zeros(episodes, t_max, state_size),
        "avail_actions": torch.zeros(episodes, t_max, n, n_actions, dtype=torch.int32),  # EPyMARL: th.int
        "actions": torch.zeros(episodes, t_max, n, 1, dtype=torch.long),
        "reward": torch.zeros(episodes, t_max, 1),
        "terminated": torch.zeros(episodes, t_max, 1),
        "filled": torch.zeros(episodes, t_max, 1),
    }
    for e, (steps, final) in enumerate(runs):
        for t, (o, s, a, act, r, term) in enumerate(steps):
            out["obs"][e, t], out["state"][e, t] = torch.from_numpy(o), torch.from_numpy(s)
            out["avail_actions"][e, t] = torch.from_numpy(a)
            out["actions"][e, t, :, 0] = torch.tensor(act)
            out["reward"][e, t], out["terminated"][e, t] = float(r), float(term)
        end = len(steps)
        out["obs"][e, end], out["state"][e, end] = torch.from_numpy(final[0]), torch.from_numpy(final[1])
        out["avail_actions"][e, end] = torch.from_numpy(final[2])
        out["filled"][e, : end + 1] = 1.0
    return out


def replay_rollout(record, policy, encoder, batch) -> None:
    """Fill a `RolloutRecord` as `lolm_mac` does while the runner plays `batch`: every step, every env.

    The learner benchmark and the tests use it for the on-policy case, where the rollout that filled
    the batch has already computed these probabilities.
    """
    from epymarl_llm.epymarl.controller import training_step_probabilities

    with torch.no_grad():
        for t in range(batch.max_seq_length):
            filled = batch["filled"][:, t, 0] > 0
            if not bool(filled.any()):
                continue
            bs = filled.nonzero().flatten().tolist()
            training_step_probabilities(policy.forward_chunked, encoder, record, batch, t, bs, policy)
