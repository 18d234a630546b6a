"""A small policy with the LlmPolicy contract, a prompt encoder and EPyMARL-shaped batches.

The fake policy keeps the parts the learner relies on: a frozen "backbone", a zero-initialised
LoRA-style adapter that `reference_logits` switches off, an action head, fp32 masked logits, and a
count of the prompt rows it runs (to check that padding costs no backbone compute).
"""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from epymarl_llm.learner.episode_tensors import EpisodeTensors
from epymarl_llm.policy.buckets import row_groups
from epymarl_llm.prompts import EntitySlot
from epymarl_llm.run_config import complete_args
from epymarl_llm.token_batch import TokenBatch

N_AGENTS, N_ENEMIES, OBS, VOCAB, HIDDEN = 3, 2, 6, 32, 16
N_ACTIONS = 6 + N_ENEMIES


def entities():
    """A marine map's state layout as `MapLayout.state.entities` gives it (SMAC's feature names)."""
    ally = ("health", "energy_or_cooldown", "rel_x", "rel_y")
    enemy = ("health", "rel_x", "rel_y")
    slots, offset = [], 0
    for side, n, feats, name in (("ally", N_AGENTS, ally, "Marine"), ("enemy", N_ENEMIES, enemy, "Marine")):
        for i in range(n):
            slots.append(EntitySlot(side, i, name, offset, len(feats), feats, unit_id=i))
            offset += len(feats)
    return slots, offset


class FakeEncoder:
    """obs rows -> token ids; the prompt is shorter when fewer features are non-zero (dynamic)."""

    def __init__(self):
        ents, _ = entities()
        self.layout = SimpleNamespace(state=SimpleNamespace(entities=ents))

    def encode(self, obs, avail, agent_ids):
        rows = []
        for o, a, i in zip(obs.tolist(), avail.tolist(), agent_ids.tolist(), strict=True):
            ids = [1 + i] + [2 + (int(abs(x) * 7) % (VOCAB - 4)) for x in o if x != 0]
            ids += [VOCAB - 1 - k for k, ok in enumerate(a[:3]) if ok]
            rows.append(ids)
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for k, r in enumerate(rows):
            ids[k, : len(r)] = torch.tensor(r)
            mask[k, : len(r)] = 1
        return TokenBatch(
            input_ids=ids,
            attention_mask=mask,
            lengths=mask.sum(1),
            prefix_len=0,
            target_spans=torch.zeros(len(rows), N_ENEMIES, 2, dtype=torch.long),
            pad_id=0,
        )


class FakePolicy(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, HIDDEN)
        self.body = nn.Linear(HIDDEN, HIDDEN)
        for p in (*self.embed.parameters(), *self.body.parameters()):
            p.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.randn(HIDDEN, 4) * 0.3)
        self.lora_B = nn.Parameter(torch.zeros(4, HIDDEN))  # zero: the adapter starts as a no-op
        self.head = nn.Linear(HIDDEN, N_ACTIONS)
        self.rows_run = 0
        self.adapter_on = True
        self.weights_version = 0  # bumped by the learner after every optimiser step, as LlmPolicy's
        self.cfg = SimpleNamespace(gradient_checkpointing=False)  # the PolicyConfig switch the learner reads
        self.splits_layers = False  # no `lora_layers` split: every pass runs the whole body

    def weights_changed(self):
        self.weights_version += 1

    def _hidden(self, batch):
        self.rows_run += len(batch)
        mask = batch.attention_mask.unsqueeze(-1).float()
        x = (self.embed(batch.input_ids) * mask).sum(1) / mask.sum(1)
        h = self.body(x)
        if self.adapter_on:
            h = h + x @ self.lora_A @ self.lora_B
        return torch.tanh(h)

    def summary(self):
        return "a fake policy"

    def row_groups(self, batch, max_rows, with_grad=False):
        return row_groups(batch.lengths, max_rows)

    def forward(self, batch, avail):
        return self.head(self._hidden(batch)).float().masked_fill(avail == 0, float("-inf"))

    def reference_logits(self, batch, avail):
        with torch.no_grad():
            self.adapter_on = False
            try:
                return self.forward(batch, avail)
            finally:
                self.adapter_on = True


class FakeMac:
    def __init__(self):
        self.policy = FakePolicy()
        self.prompt_encoder = FakeEncoder()
        self.rollout_record = None  # LolmMAC's `RolloutRecord`; no rollout played the fake's batches

    def parameters(self):
        return self.policy.parameters()

    def save_models(self, path):
        torch.save(
            {k: v for k, v in self.policy.state_dict().items() if "lora" in k or "head" in k}, f"{path}/agent.th"
        )

    def load_models(self, path):
        """As LolmMAC's: the weights, then the load plan (this fake writes no manifest: a resumed run)."""
        from epymarl_llm.load_plan import LoadSettings, plan_load

        self.policy.load_state_dict(torch.load(f"{path}/agent.th"), strict=False)
        self.load_plan = plan_load(None, path, LoadSettings(target_map=None))

    def cuda(self):
        self.policy.cuda()


def make_batch(seed=0, lengths=(6, 4, 3), episodes=None):
    """Episodes of `lengths` transitions in a T = max+1 batch; some agents die along the way."""
    g = torch.Generator().manual_seed(seed)
    b, t = len(lengths), max(lengths) + 1
    _, state_size = entities()
    obs = torch.rand(b, t, N_AGENTS, OBS, generator=g).round(decimals=1)
    avail = (torch.rand(b, t, N_AGENTS, N_ACTIONS, generator=g) > 0.3).float()
    avail[..., 0] = 0
    avail[..., 1] = 1  # stop is always available to a live agent
    state = torch.rand(b, t, state_size + 2, generator=g) + 0.1
    filled = torch.zeros(b, t, 1)
    terminated = torch.zeros(b, t, 1)
    for e, n in enumerate(lengths):
        filled[e, :n] = 1
        terminated[e, n - 1] = 1
        avail[e, n:] = 0
        obs[e, n:] = 0
        state[e, n:] = 0
    # agent 2 of episode 0 dies at step 2: only no-op from then on
    avail[0, 2:, 2] = 0
    avail[0, 2:, 2, 0] = 1
    actions = torch.multinomial(avail.reshape(-1, N_ACTIONS) + 1e-9, 1, generator=g).reshape(b, t, N_AGENTS, 1)
    reward = torch.rand(b, t, 1, generator=g) * filled
    return EpisodeTensors(
        {
            "obs": obs,
            "avail_actions": avail,
            "actions": actions,
            "state": state,
            "filled": filled,
            "terminated": terminated,
            "reward": reward,
        }
    )


class Recorder:
    def __init__(self):
        self.stats = {}

    def log_stat(self, key, value, t):
        self.stats.setdefault(key, []).append((t, value))


def make_args(**overrides):
    base = dict(
        n_agents=N_AGENTS,
        n_actions=N_ACTIONS,
        lr=0.01,
        epochs=2,
        learner_log_interval=0,
        max_prompts_per_forward=4,
        critic_d_model=16,
        critic_layers=1,
        critic_heads=2,
        kl_anneal_steps=1000,
        use_cuda=False,
    )
    base.update(overrides)
    return complete_args(**base)


@pytest.fixture
def fake():
    """Factories: fake.mac(), fake.batch(...), fake.args(...), fake.logger()."""
    torch.manual_seed(0)
    return SimpleNamespace(mac=FakeMac, batch=make_batch, args=make_args, logger=Recorder)
