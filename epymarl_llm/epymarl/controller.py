"""`lolm_mac`: EPyMARL's multi-agent controller for the LLM policy (METHOD section 1, paper figure 2).

One forward per environment step: the prompts of every live agent of every running env are built
from `batch["obs"]` and `batch["avail_actions"]` (EPyMARL's scheme holds nothing else the prompt
needs; the map layout comes from the runner as `args.lolm_layout`) and go through the backbone
together. Dead agents (SMAC lets them take only no-op) skip the backbone and get probability 1 on
no-op. Probabilities are a float32 softmax (bf16 log-probs corrupt PPO ratios: docs/PERFORMANCE.md "Precision, checkpointing, compile").
Actions come from EPyMARL's own action selector (`soft_policies` samples, in training and in test
mode alike, as for EPyMARL's MAPPO). `test_actions: greedy` takes the most probable action in test
mode instead; EPyMARL's `test_greedy` is not read (every env yaml sets it True, and `soft_policies`,
the baseline's selector, ignores it), so the test win rates of `lolm_mappo` and `mappo` are
measured the same way unless a run asks otherwise.

The learner reads `mac.policy` (LlmPolicy), `mac.prompt_encoder` (PromptEncoder) and, after a
checkpoint loads, `mac.load_plan` (`epymarl_llm.load_plan`).
"""

from __future__ import annotations

from typing import Any

import torch

from epymarl_llm.actions import NO_OP, dead_agents
from epymarl_llm.learner.rollout_record import RolloutRecord
from epymarl_llm.load_plan import CheckpointManifest, LoadPlan, LoadSettings, plan_load
from epymarl_llm.map_identity import map_identity
from epymarl_llm.policy.layer_split import RowLowerStates
from epymarl_llm.run_config import LolmRunConfig, RunConfigError, run_config


@torch.no_grad()
def live_action_probabilities(
    logits_fn, encoder, obs: torch.Tensor, avail: torch.Tensor, device: torch.device, keep_lower: Any = None
) -> torch.Tensor:
    """The rollout's step: obs (B, N, obs_size), avail (B, N, A) -> (B, N, A) float32 probabilities.

    Prompts of the live agents only, built and tokenized by `encoder` (a PromptEncoder), then one
    `logits_fn(tokens, avail)` call (the agent: `LlmPolicy.forward_chunked`). Used by `LolmMAC` and by
    `epymarl-llm bench`, so the benchmark times exactly what the controller runs.

    `keep_lower`: a callable given the number of live prompts, returning a `RowLowerStates` for
    `logits_fn` to fill (rows in the order of `(~dead_agents(avail)).nonzero()`); None keeps nothing.
    """
    b, n, a = avail.shape
    probs = torch.zeros(b, n, a, dtype=torch.float32, device=avail.device)
    dead = dead_agents(avail)
    probs[..., NO_OP][dead] = 1.0
    live = ~dead
    if bool(live.any()):
        agent_ids = torch.arange(n, device=avail.device).expand(b, n)[live]
        live_avail = avail[live]
        # entity_spans are for inspection only: skip them on the rollout's hot path.
        tokens = encoder.encode(obs[live].cpu(), live_avail.cpu(), agent_ids.cpu(), entity_spans=False)
        if keep_lower is None:
            logits = logits_fn(tokens, live_avail.to(device))
        else:
            logits = logits_fn(tokens, live_avail.to(device), keep_lower=keep_lower(len(tokens)))
        probs[live] = torch.softmax(logits.float(), dim=-1).to(avail.device)
    return probs


def training_step_probabilities(
    logits_fn, encoder, record: RolloutRecord, ep_batch: Any, t_ep: int, bs: Any, policy: Any
) -> torch.Tensor:
    """A training-mode rollout step of the envs `bs`: probabilities as `live_action_probabilities`,
    recorded in `record` for the learner (pi_old), with the frozen lower layers' output when the
    record keeps it (`lora_layers: K`, `lower_from_rollout`)."""
    obs, avail = ep_batch["obs"][bs, t_ep], ep_batch["avail_actions"][bs, t_ep]
    collector: RowLowerStates | None = None

    def keep(rows: int) -> RowLowerStates:
        nonlocal collector
        collector = RowLowerStates(rows)
        return collector

    wanted = record.lower_budget_mb > 0 and policy.splits_layers
    probs = live_action_probabilities(
        logits_fn, encoder, obs, avail, policy.device, keep_lower=keep if wanted else None
    )
    record.record(ep_batch, t_ep, bs, probs, policy.weights_version)
    if collector is not None:
        record.record_lower(ep_batch, t_ep, bs, ~dead_agents(avail), collector)
    return probs


class LolmMAC:
    """EPyMARL's mac interface: `select_actions`, `forward`, `init_hidden`, `parameters`,
    `load_state`, `cuda`, `save_models`, `load_models`."""

    def __init__(self, scheme: dict, groups: dict, args: Any):
        from components.action_selectors import REGISTRY as action_registry  # EPyMARL's, from its src/
        from modules.agents import REGISTRY as agent_registry

        self.args = args
        self.n_agents = args.n_agents
        self.config = run_config(args)  # read once here; the agent and the learner get the same object
        # EPyMARL's main.py pins torch to one thread; an LLM on CPU needs the cores (llm_cpu_threads).
        torch.set_num_threads(self.config.integration.cpu_threads)
        self.layout = getattr(args, "lolm_layout", None)
        if self.layout is None:
            raise RunConfigError("the map layout is missing: set runner to lolm_parallel or lolm_episode")
        self.agent = agent_registry[args.agent](scheme["obs"]["vshape"], args)
        self.policy = self.agent.policy
        self.prompt_encoder = _prompt_encoder(self.layout, self.policy.tokenizer, self.config.prompt)
        self.agent_output_type = args.agent_output_type
        self.action_selector = action_registry[args.action_selector](args)
        self.test_greedy = self.config.integration.test_actions == "greedy"
        self.hidden_states = None
        # What `load_models` loaded (zero/few-shot transfer, resumed runs): its manifest and the plan.
        self.checkpoint_manifest: CheckpointManifest | None = None
        self.load_plan: LoadPlan | None = None
        # The rollout's probabilities, which the learner takes as pi_old on on-policy batches, and
        # with `lora_layers: K` the frozen lower layers' output, which the learner then need not recompute.
        self.rollout_record = RolloutRecord.for_learner(self.config.learner)
        # Told of every step (`epymarl.progress.RolloutProgress`); the plugin's runner sets it.
        self.rollout_progress = None

    # --- acting ------------------------------------------------------------------------------------
    def select_actions(self, ep_batch, t_ep: int, t_env: int, bs=slice(None), test_mode: bool = False):
        """(len(bs), n_agents) long actions for the envs in `bs` at step `t_ep`."""
        avail = ep_batch["avail_actions"][bs, t_ep]
        if self.rollout_progress is not None:
            live = int((~dead_agents(avail)).sum())
            self.rollout_progress.step(t_ep, avail.shape[0], live, t_env, test_mode)
        if test_mode:
            probs = self._probabilities(ep_batch["obs"][bs, t_ep], avail)
        else:
            probs = training_step_probabilities(
                self.agent, self.prompt_encoder, self.rollout_record, ep_batch, t_ep, bs, self.policy
            )
        if test_mode and self.test_greedy:
            return probs.argmax(dim=-1)
        return self.action_selector.select_action(probs, avail, t_env, test_mode=test_mode)

    def forward(self, ep_batch, t: int, test_mode: bool = False) -> torch.Tensor:
        """(batch_size, n_agents, n_actions) action probabilities at step t (EPyMARL's `pi_logits` output)."""
        return self._probabilities(ep_batch["obs"][:, t], ep_batch["avail_actions"][:, t])

    def _probabilities(self, obs: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
        """obs (B, N, obs_size), avail (B, N, A) -> (B, N, A) float32 probabilities on obs' device."""
        return live_action_probabilities(self.agent, self.prompt_encoder, obs, avail, self.policy.device)

    def sample_prompts(self, obs: torch.Tensor, avail: torch.Tensor, max_prompts: int, max_chars: int) -> list[str]:
        """The prompt texts the backbone reads for up to `max_prompts` live agents of one step.

        obs (N, obs_size), avail (N, A) of one env. Decoded from the token ids, so it is exactly
        what the model sees; each cut to `max_chars` characters.
        """
        live = (~dead_agents(avail)).nonzero().flatten()[:max_prompts]
        if len(live) == 0:
            return []
        tokens = self.prompt_encoder.encode(obs[live].cpu(), avail[live].cpu(), live.cpu())
        texts = []
        for row, length in enumerate(tokens.lengths.tolist()):
            text = self.policy.tokenizer.decode(tokens.input_ids[row, :length].tolist())
            texts.append(
                text if len(text) <= max_chars else text[:max_chars] + f"... [{len(text) - max_chars} more chars]"
            )
        return texts

    # --- EPyMARL's housekeeping --------------------------------------------------------------------
    def init_hidden(self, batch_size: int) -> None:
        self.hidden_states = None  # not recurrent

    def parameters(self):
        return self.agent.parameters()

    def load_state(self, other_mac: LolmMAC) -> None:
        self.agent.load_state_dict(other_mac.agent.state_dict())

    def cuda(self) -> None:
        """The policy's device is fixed at build time (`device`, auto = follow `use_cuda`)."""
        if self.policy.device.type != "cuda":
            raise RunConfigError(
                f"use_cuda is set but the policy was built on {self.policy.device}; set device: auto or cuda"
            )

    def save_models(self, path: str) -> None:
        """LoRA adapter + head (small: never the backbone), and the manifest of what this run trained on."""
        self.policy.save_trainable(path)
        env_args = getattr(self.args, "env_args", {}) or {}
        plan = self.load_plan
        CheckpointManifest(
            map_name=map_identity(env_args),
            env=getattr(self.args, "env", None),
            n_agents=self.n_agents,
            n_actions=self.args.n_actions,
            llm_model=self.config.policy.llm_model,
            # Carried across resumes, so that a resumed transfer run keeps the transfer's KL rule.
            transfer_source_map=plan.transferred_from if plan is not None else None,
        ).write(path)

    def load_models(self, path: str) -> None:
        """The policy's weights, and the load plan of this checkpoint for this run (the learner applies it)."""
        self.policy.load_trainable(path)
        self.checkpoint_manifest = CheckpointManifest.read(path)
        self.load_plan = plan_load(self.checkpoint_manifest, path, load_settings(self.args, self.config))


def load_settings(args: Any, config: LolmRunConfig) -> LoadSettings:
    """The run's side of `plan_load`: EPyMARL's map, evaluate and t_max, and the plugin's KL keys."""
    return LoadSettings(
        target_map=map_identity(getattr(args, "env_args", None)),
        evaluate=bool(getattr(args, "evaluate", False)),
        t_max=getattr(args, "t_max", None),
        kl_mode=config.learner.kl_mode,
        kl_in_transfer=config.integration.kl_in_transfer,
    )


def _prompt_encoder(layout: Any, tokenizer: Any, prompt_config: Any):
    from epymarl_llm.prompts import PromptEncoder

    return PromptEncoder(layout, tokenizer, config=prompt_config)
