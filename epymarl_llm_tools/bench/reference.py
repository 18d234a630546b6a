"""The reference implementation: the same policy and learner math, written the straightforward way.

What `epymarl-llm bench` compares the fast path against. Nothing here is slowed on purpose; it is
what one writes first with transformers, peft and EPyMARL's `ppo_learner` as the model:
  - the policy is `AutoModelForCausalLM` + LoRA, called with `output_hidden_states=True`, so the
    vocabulary projection is computed for every token (switch: `vocab_projection`);
  - the reference policy is a second, frozen copy of the causal LM (switch: `second_copy`);
  - every step's prompts are tokenized from their full texts (`tokenizer(texts,
    return_offsets_mapping=True)`, the PromptEncoder's fallback path; switch: `text_tokenization`);
  - one padded forward for all prompts of a step, no prefix cache, no length grouping;
  - the learner (`StockStyleLearner`) deep-copies the policy as the old policy and runs one forward
    per timestep over every agent slot, holding the whole epoch's graph for one backward.
The action head, the LoRA layers and the losses are the project's own, so probabilities equal the
fast path's for the same weights (tests/perf).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from epymarl_llm.policy.backbone import pool_spans
from epymarl_llm.policy.head import N_BASE_ACTIONS, mask_logits
from epymarl_llm.policy.inputs import check_inputs
from epymarl_llm.token_batch import TokenBatch


@dataclass(frozen=True)
class ReferenceSwitches:
    """Each switch on is the straightforward way; turning one off measures that shortcut's gain alone.

    Args:
        vocab_projection: run the causal LM with its vocabulary projection (off: the body only).
        second_copy: a second frozen model for the reference policy (off: peft's disable_adapter).
        text_tokenization: tokenize full prompt texts every step (off: the joined-piece fast path).
    """

    vocab_projection: bool = True
    second_copy: bool = True
    text_tokenization: bool = True


class ReferencePolicy(nn.Module):
    """pi_theta(a | prompt) as `LlmPolicy` computes it, the straightforward way.

    Args:
        policy: an `LlmPolicy` whose configuration, LoRA weights and head are copied (same math).
        switches: which straightforward choices to keep.
    """

    splits_layers = False  # every pass runs the whole body (no `lora_layers` split)

    def __init__(self, policy, switches: ReferenceSwitches = ReferenceSwitches()) -> None:
        super().__init__()
        from transformers import AutoModel, AutoModelForCausalLM

        from epymarl_llm.policy.lora import apply_lora

        cfg = policy.cfg
        self.cfg, self.switches, self.tokenizer = cfg, switches, policy.tokenizer
        device, dtype = policy.device, policy.backbone_dtype
        self.backbone_dtype = dtype
        loader = AutoModelForCausalLM if switches.vocab_projection else AutoModel
        body = _load(loader, cfg, dtype, policy).to(device)
        body.requires_grad_(False)
        self.model = apply_lora(body, cfg)
        _copy_lora(policy.model, self.model)
        self.head = copy.deepcopy(policy.head)
        # Held outside the module tree so that the learner's deepcopy of the policy (the old
        # policy) does not copy it: in EPyMARL's pattern the reference lives beside the mac.
        frozen = (
            [_load(loader, cfg, dtype, policy).to(device).requires_grad_(False).eval()] if switches.second_copy else []
        )
        self._frozen = _Shared(frozen)

    @property
    def device(self) -> torch.device:
        return self.head.query.weight.device

    def summary(self) -> str:
        """The run's one line about its policy, as `LlmPolicy.summary` writes it."""
        return f"reference implementation of {self.cfg.llm_model}, body in {str(self.backbone_dtype).removeprefix('torch.')}"

    def forward(self, batch: TokenBatch, avail: torch.Tensor) -> torch.Tensor:
        """(M, 6 + n_targets) float32 masked logits of the LoRA policy."""
        return self._logits(self.model, batch, avail)

    @torch.no_grad()
    def reference_logits(self, batch: TokenBatch, avail: torch.Tensor) -> torch.Tensor:
        """The frozen pre-trained policy through the same head: the second copy, or adapter off."""
        if self._frozen:
            return self._logits(self._frozen[0], batch, avail)
        with self.model.disable_adapter():
            return self._logits(self.model, batch, avail)

    def _logits(self, model: nn.Module, batch: TokenBatch, avail: torch.Tensor) -> torch.Tensor:
        avail = check_inputs(batch, avail).to(self.device)
        batch = batch.to(self.device)
        out = model(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            output_hidden_states=self.switches.vocab_projection,
            use_cache=False,
        )
        states = out.hidden_states[-1] if self.switches.vocab_projection else out.last_hidden_state
        last = states[torch.arange(len(batch), device=self.device), batch.lengths - 1]
        features = pool_spans(states, batch.target_spans) if self.head.target_key is not None else None
        return mask_logits(self.head(last, avail.shape[1] - N_BASE_ACTIONS, features), avail)


class _Shared(list):
    """A list that `copy.deepcopy` shares instead of copying (the frozen reference model)."""

    def __deepcopy__(self, memo):
        return self


def reference_encoder(layout, tokenizer, switches: ReferenceSwitches, prompt_config=None):
    """A PromptEncoder that tokenizes full texts every step when `switches.text_tokenization`."""
    from epymarl_llm.prompts import PromptEncoder

    encoder = PromptEncoder(layout, tokenizer, config=prompt_config)
    if switches.text_tokenization:
        encoder.fast = False  # its fallback: tokenizer(texts, return_offsets_mapping=True) per call
    return encoder


def _load(loader, cfg, dtype, policy):
    """The model as a user loads it; random-init bodies take the policy's weights (same math)."""
    from epymarl_llm.policy.named_models import resolve_model

    folder = resolve_model(cfg.llm_model)  # a named model or .gguf: the folder the policy loaded
    kwargs = {"dtype": dtype}
    if cfg.llm_attn_implementation is not None:
        kwargs["attn_implementation"] = cfg.llm_attn_implementation
    if cfg.llm_init == "pretrained":
        return loader.from_pretrained(folder, **kwargs)
    from transformers import AutoConfig

    model = loader.from_config(AutoConfig.from_pretrained(folder), **kwargs)
    base = {
        n.replace("base_model.model.", "", 1).replace(".base_layer", ""): p
        for n, p in policy.model.named_parameters()
        if "lora_" not in n
    }
    with torch.no_grad():
        for name, param in model.named_parameters():
            key = name.removeprefix("model.")
            if key in base:
                param.copy_(base[key])
    return model


def _copy_lora(source: nn.Module, target: nn.Module) -> None:
    """Copy LoRA weights between a body-only and a causal-LM peft model (names differ in prefix)."""

    def by_layer(model):
        return {n[n.index("layers.") :]: p for n, p in model.named_parameters() if "lora_" in n}

    src, dst = by_layer(source), by_layer(target)
    if src.keys() != dst.keys():
        raise ValueError("the reference model's LoRA layers differ from the policy's")
    with torch.no_grad():
        for name, param in dst.items():
            param.copy_(src[name])


class StockStyleLearner:
    """EPyMARL's ppo_learner pattern around the reference policy, with the batched learner's losses.

    `deepcopy` old policy; per epoch, one forward per timestep over every agent slot (dead and
    finished slots included, as EPyMARL's mac does) and one backward over the whole epoch.

    Args:
        batched: a `LolmPPOLearner` whose mac holds a `ReferencePolicy`; its critic, optimisers,
            config and KL schedule are used as they are.
    """

    pi_old_source = "pass"  # pi_old always comes from a pass over the deep-copied old policy

    def __init__(self, batched) -> None:
        self.b = batched
        self.old_policy = copy.deepcopy(batched.mac.policy)

    def _step_logits(self, policy, batch, t: int, reference: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        obs, avail = batch["obs"][:, t], batch["avail_actions"][:, t].clone()
        b, n, a = avail.shape
        empty = avail.sum(-1) == 0
        avail[..., 0][empty] = 1  # finished episodes: a no-op-only row, as a dead agent
        flat_avail = avail.reshape(b * n, a) > 0
        ids = torch.arange(n).repeat(b)
        tokens = self.b.mac.prompt_encoder.encode(obs.reshape(b * n, -1).cpu(), flat_avail.cpu(), ids)
        device = self.b._policy_device()
        tokens, flat_avail = tokens.to(device), flat_avail.to(device)
        logits = policy.reference_logits(tokens, flat_avail) if reference else policy(tokens, flat_avail)
        return logits.reshape(b, n, a), (avail > 0).to(device)

    def _all_logp(self, policy, batch, reference: bool = False) -> torch.Tensor:
        from epymarl_llm.learner import losses

        out = []
        for t in range(batch.max_seq_length - 1):
            logits, avail = self._step_logits(policy, batch, t, reference)
            out.append(losses.masked_log_softmax(logits, avail))
        return torch.stack(out, dim=1)  # (B, T-1, N, A)

    def train(self, batch, t_env: int, episode_num: int = 0) -> None:
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
            surrogate, _ = losses.clipped_surrogate(
                logp.gather(-1, actions).squeeze(-1), old_taken, advantages.to(live.device), cfg.eps_clip
            )
            loss = losses.mappo_loss(surrogate, losses.entropy(logp, avail), live, cfg.entropy_coef)
            if ref is not None:
                kl = losses.masked_mean(losses.exact_kl(logp, ref, avail), live)
                if b.kl_schedule.needs_start:
                    b.kl_schedule.start(float(loss), float(kl))
                loss = loss + b.kl_schedule.beta(t_env) * kl
            b.agent_optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(b.agent_params, cfg.grad_norm_clip)
            b.agent_optimiser.step()
        self.old_policy.load_state_dict(policy.state_dict())
        b._update_target_critic()
