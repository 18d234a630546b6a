"""Learner throughput and peak memory: the batched learner against a stock-style reference.

    python -m epymarl_llm.bench.learner_speed [--shape small] [--episodes 10] [--epochs 4]

One `train()` of a batch of real SMAClite episodes (random actions, default 3s5z_vs_3s6z) with the
"small" random Qwen3 model of the policy package, for two learners:
  batched: `LolmPPOLearner` (live agent-steps only, length-sorted chunks, old policy and reference
           from one no-grad pass of the same weights);
  stock:   EPyMARL's `ppo_learner` pattern with the same losses: a `deepcopy` of the policy as the
           old policy, one forward per timestep over every agent slot, the whole epoch's graph held
           for one backward.
Samples are live agent-steps (the same count for both). Each variant runs in a fresh subprocess;
peak memory is the process's peak resident set size during `train()` on CPU (VmHWM from
/proc/self/status after resetting it through /proc/self/clear_refs, so model loading does not count),
or `torch.cuda.max_memory_allocated` during `train()` on CUDA.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import torch

VARIANTS = ("batched", "stock")


# --- data: real episodes -----------------------------------------------------------------------------
class EpisodeTensors:
    """The parts of EPyMARL's EpisodeBatch the learners read, filled as its episode runner fills them."""

    def __init__(self, data: dict[str, torch.Tensor]):
        self.data = data
        self.batch_size, self.max_seq_length = data["obs"].shape[:2]
        self.device = data["obs"].device

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.data[key]

    def to(self, device) -> "EpisodeTensors":
        return EpisodeTensors({k: v.to(device) for k, v in self.data.items()})


def collect_episodes(map_name: str, episodes: int, seed: int) -> dict[str, torch.Tensor]:
    """Random-action SMAClite episodes in EPyMARL's layout: T = longest episode + 1 (the final state)."""
    import numpy as np
    from smaclite.env.maps.map import MapPreset
    from smaclite.env.smaclite import SMACliteEnv

    preset = {p.value.name: p.value for p in MapPreset}
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
            steps.append((np.stack(obs), state, avail, actions, reward, terminated and not truncated))
            obs, done = new_obs, terminated or truncated
        final = (np.stack(obs), env.get_state(), np.array(env.get_avail_actions(), dtype=np.float32))
        runs.append((steps, final))
    env.close()
    t_max = max(len(s) for s, _ in runs) + 1
    n, obs_size = runs[0][1][0].shape
    n_actions, state_size = runs[0][1][2].shape[1], runs[0][1][1].shape[0]
    out = {"obs": torch.zeros(episodes, t_max, n, obs_size), "state": torch.zeros(episodes, t_max, state_size),
           "avail_actions": torch.zeros(episodes, t_max, n, n_actions, dtype=torch.int32),  # EPyMARL: th.int
           "actions": torch.zeros(episodes, t_max, n, 1, dtype=torch.long), "reward": torch.zeros(episodes, t_max, 1),
           "terminated": torch.zeros(episodes, t_max, 1), "filled": torch.zeros(episodes, t_max, 1)}
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


# --- the stock-style reference ---------------------------------------------------------------------
class StockStyleLearner:
    """EPyMARL's ppo_learner pattern around the LLM policy, with the same losses as the batched learner.

    `deepcopy` old policy; per epoch, one forward per timestep over every agent slot (dead and
    finished slots included, as EPyMARL's mac does) and one backward over the whole epoch.
    """

    def __init__(self, batched):
        self.b = batched  # the batched learner: its critic, optimisers, config and schedule
        self.old_policy = copy.deepcopy(batched.mac.policy)

    def _step_logits(self, policy, batch, t: int, reference: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        obs, avail = batch["obs"][:, t], batch["avail_actions"][:, t].clone()
        b, n, a = avail.shape
        empty = avail.sum(-1) == 0
        avail[..., 0][empty] = 1.0  # finished episodes: a no-op-only row, as a dead agent
        flat_avail = avail.reshape(b * n, a) > 0
        ids = torch.arange(n).repeat(b)
        tokens = self.b.mac.prompt_encoder.encode(obs.reshape(b * n, -1).cpu(), flat_avail.cpu(), ids)
        device = self.b._policy_device()
        tokens, flat_avail = tokens.to(device), flat_avail.to(device)
        logits = policy.reference_logits(tokens, flat_avail) if reference else policy(tokens, flat_avail)
        return logits.reshape(b, n, a), (avail > 0).to(device)

    def _all_logp(self, policy, batch, reference=False) -> torch.Tensor:
        from epymarl_llm.learner import losses

        out = []
        for t in range(batch.max_seq_length - 1):
            logits, avail = self._step_logits(policy, batch, t, reference)
            out.append(losses.masked_log_softmax(logits, avail))
        return torch.stack(out, dim=1)  # (B, T-1, N, A)

    def train(self, batch, t_env: int) -> None:
        from epymarl_llm.learner import losses
        from epymarl_llm.learner.agent_steps import team_masks

        b, cfg = self.b, self.b.config
        masks = team_masks(batch, b.n_agents)
        live = masks.live.to(b._policy_device())
        rewards = b._team_rewards(batch)
        avail = batch["avail_actions"][:, :-1].to(live.device) > 0
        actions = batch["actions"][:, :-1].to(live.device)
        policy = b.mac.policy
        policy.eval()
        with torch.no_grad():
            old_taken = self._all_logp(self.old_policy, batch).gather(-1, actions).squeeze(-1)
            ref = self._all_logp(policy, batch, reference=True) if b.kl_schedule.enabled else None
        target_values = b._target_values(batch)
        for _ in range(cfg.epochs):
            advantages, _ = b._critic_step(batch, rewards, masks.mask, target_values)
            logp = self._all_logp(policy, batch)
            surrogate, _ = losses.clipped_surrogate(logp.gather(-1, actions).squeeze(-1), old_taken,
                                                    advantages.to(live.device), cfg.eps_clip)
            loss = losses.mappo_loss(surrogate, losses.entropy(logp, avail), live, cfg.entropy_coef)
            if b.kl_schedule.needs_start:
                b.kl_schedule.start(float(loss), float(losses.masked_mean(losses.exact_kl(logp, ref, avail), live)))
            if ref is not None:
                loss = loss + b.kl_schedule.beta(t_env) * losses.masked_mean(losses.exact_kl(logp, ref, avail), live)
            b.agent_optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(b.agent_params, cfg.grad_norm_clip)
            b.agent_optimiser.step()
        self.old_policy.load_state_dict(policy.state_dict())
        b._update_target_critic()


# --- one variant, in this process ------------------------------------------------------------------
class _Mac:
    def __init__(self, policy, encoder):
        self.policy, self.prompt_encoder = policy, encoder

    def parameters(self):
        return self.policy.parameters()


class _NoLog:
    def log_stat(self, key, value, t):
        pass


def _rss_reset() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def run_variant(variant: str, opts: argparse.Namespace) -> dict:
    from epymarl_llm.learner import LolmPPOLearner
    from epymarl_llm.learner.agent_steps import team_masks
    from epymarl_llm.policy import LlmPolicy, PolicyConfig
    from epymarl_llm.prompts import PromptEncoder, load_map_layout

    torch.manual_seed(0)
    torch.set_num_threads(opts.threads or os.cpu_count() or 1)
    data = torch.load(opts.data)
    layout = load_map_layout(opts.map, env="smaclite", env_args={"map_name": opts.map})
    device = "cuda" if opts.device == "cuda" else "cpu"
    policy = LlmPolicy(PolicyConfig(llm_model=opts.model_dir, device=device,
                                    max_prompts_per_forward=opts.max_prompts), n_targets_hint=layout.n_targets)
    mac = _Mac(policy, PromptEncoder(layout, policy.tokenizer))
    args = SimpleNamespace(n_agents=layout.n_agents, n_actions=layout.n_actions, epochs=opts.epochs,
                           max_prompts_per_forward=opts.max_prompts, use_cuda=device == "cuda",
                           lolm_layout=layout, env="smaclite", env_args={"map_name": opts.map})
    learner = LolmPPOLearner(mac, {}, _NoLog(), args)
    learner.critic.to(device)
    learner.target_critic.to(device)
    batch = EpisodeTensors(data).to(device)
    live = int(team_masks(batch, layout.n_agents).live.sum())
    trainer = StockStyleLearner(learner) if variant == "stock" else learner
    rss_setup = _status_kib("VmRSS")
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    _rss_reset()
    start = time.perf_counter()
    trainer.train(batch, 0) if variant == "stock" else trainer.train(batch, 0, 0)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() / 2**20) if device == "cuda" else _status_kib("VmHWM") / 1024
    return {"variant": variant, "device": device, "live_agent_steps": live, "seconds": seconds,
            "samples_per_s": live / seconds, "peak_mib": peak, "rss_after_setup_mib": rss_setup / 1024,
            "memory": "cuda max_memory_allocated" if device == "cuda" else "VmHWM during train()"}


# --- the driver ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="3s5z_vs_3s6z")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--shape", default="small", help="model shape of epymarl_llm.policy.tiny_model.SHAPES")
    parser.add_argument("--model-dir", default=None, help="an existing model folder (default: build --shape)")
    parser.add_argument("--max-prompts", type=int, default=64, help="max_prompts_per_forward")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = all cores)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.device == "auto":
        opts.device = "cuda" if torch.cuda.is_available() else "cpu"
    if opts.run_variant:
        print(json.dumps(run_variant(opts.run_variant, opts)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        if opts.model_dir is None:
            from epymarl_llm.policy.tiny_model import make_tiny_model

            opts.model_dir = str(make_tiny_model(os.path.join(tmp, opts.shape), shape=opts.shape, seed=0))
        data_path = os.path.join(tmp, "batch.pt")
        torch.save(collect_episodes(opts.map, opts.episodes, opts.seed), data_path)
        results = {}
        for variant in opts.variants.split(","):
            cmd = [sys.executable, "-m", "epymarl_llm.bench.learner_speed", "--run-variant", variant,
                   "--data", data_path, "--model-dir", opts.model_dir, "--map", opts.map, "--epochs", str(opts.epochs),
                   "--max-prompts", str(opts.max_prompts), "--device", opts.device, "--threads", str(opts.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return proc.returncode
            results[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"learner_speed: {opts.map}, {opts.episodes} episodes, {opts.epochs} epochs, model {opts.model_dir}, "
          f"device {opts.device}, max_prompts_per_forward {opts.max_prompts}")
    for r in results.values():
        print(f"  {r['variant']:8s} live agent-steps {r['live_agent_steps']:6d}  train() {r['seconds']:8.2f} s  "
              f"{r['samples_per_s']:9.1f} samples/s  peak {r['peak_mib']:9.1f} MiB ({r['memory']})")
    if set(results) == set(VARIANTS):
        speedup = results["batched"]["samples_per_s"] / results["stock"]["samples_per_s"]
        memory = results["batched"]["peak_mib"] / results["stock"]["peak_mib"]
        print(f"  batched / stock: {speedup:.2f}x samples per second, {memory:.2f}x peak memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
