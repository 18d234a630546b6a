"""`LlmPolicy`: LoRA-tuned causal-LM body + attention action head, and its reference policy.

METHOD section 4 / paper sections 4.1 and 4.4. One backbone lives in memory: the acting policy runs
it with the LoRA adapter on, the frozen reference policy (KL term only, never acts) with the
adapter off through the same head (TRL's `null_ref_context` pattern, not a deepcopy).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from epymarl_llm.policy.backbone import (
    PrefixKV,
    body_hidden,
    body_hidden_after_prefix,
    disable_dropout,
    first_layer_weights,
    last_token_index,
    load_backbone,
    policy_dtype,
    pool_spans,
    resolve_device,
    run_prefix,
    settle_dtype,
)
from epymarl_llm.policy.buckets import forward_overhead_tokens, row_groups
from epymarl_llm.policy.cache_api import cache_kwargs, output_cache
from epymarl_llm.policy.checkpoint import load_trainable, save_trainable
from epymarl_llm.policy.config import PolicyConfig
from epymarl_llm.policy.errors import BatchError, PolicyConfigError
from epymarl_llm.policy.head import N_BASE_ACTIONS, AttentionActionHead, mask_logits
from epymarl_llm.policy.head_positions import last_layer_at, read_positions
from epymarl_llm.policy.head_positions import supports as head_positions_supported
from epymarl_llm.policy.inputs import check_inputs
from epymarl_llm.policy.int8_layers import check_int8_applicable, quantize_lower_layers
from epymarl_llm.policy.layer_split import (
    LowerPrefix,
    LowerStates,
    RowLowerStates,
    decoder_body,
    full_cache,
    layer_kv,
    only_layers,
)
from epymarl_llm.policy.lora import apply_lora
from epymarl_llm.token_batch import TokenBatch


class LlmPolicy(nn.Module):
    """pi_theta(a | prompt) over `6 + n_targets` actions, for any map (the head's width comes from
    each batch's availability rows).

    Args:
        cfg: the policy's configuration.
    """

    def __init__(self, cfg: PolicyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        device = resolve_device(cfg.device)
        choice = policy_dtype(cfg, device)
        body, self.tokenizer = load_backbone(cfg, device, choice.dtype)
        self.dtype_choice, body = settle_dtype(cfg, device, choice, body)  # the body's dtype and why (a run prints it)
        self.backbone_dtype = self.dtype_choice.dtype
        # Counted before LoRA wraps the layers and int8 replaces the frozen ones' weights: the layers'
        # float size sets what one more forward costs in tokens on a CPU (`buckets.forward_overhead_tokens`).
        self._layer_weights = first_layer_weights(body)
        self.model = apply_lora(body, cfg)  # peft.PeftModel around the frozen body
        disable_dropout(self.model)  # one policy for rollout, pi_old and PPO epochs (TRL's rule)
        self.hidden_size = int(body.config.hidden_size)
        # `lora_layers: K`: the adapter sits on the last K layers; the ones below are frozen for the
        # policy and the reference alike, so the learner runs them once per agent-step
        # (`lower_states`, METHOD section 9). 0 when every layer is adapted.
        self.n_layers = int(body.config.num_hidden_layers)
        self.first_adapted_layer = 0 if cfg.lora_layers == "all" else self.n_layers - cfg.lora_layers
        self._lower_prefix_cache: dict[tuple, LowerPrefix] = {}
        # The head stays float32 whatever the body's dtype (docs/PERFORMANCE.md "Precision").
        self.head = AttentionActionHead(self.hidden_size, cfg.action_dim, cfg.attack_keys, cfg.head_input_norm).to(
            device
        )
        # The cached prefix is tagged with `weights_version`, which the learner bumps after every
        # optimiser step and every load bumps (`weights_changed`), and with the LoRA tensors'
        # in-place version counters. The counters alone are not enough: fused optimisers
        # (`Adam(fused=True)`) write the tensors without bumping them.
        self.weights_version = 0
        self._lora_params = [p for n, p in self.model.named_parameters() if "lora_" in n]
        self._prefix_cache: dict[tuple, PrefixKV] = {}
        # One LoRA layer tells whether the adapter is on (peft's disable_adapter flips every layer,
        # also when a caller uses it directly), so a cached prefix never crosses that switch.
        self._a_lora_layer = next(
            m for m in self.model.modules() if hasattr(m, "lora_A") and hasattr(m, "disable_adapters")
        )
        # The last layer at the head's read positions only: for Llama/Qwen-style layers.
        self._head_positions_ok = (
            cfg.head_positions_only
            and _has_layers(self.model)
            and head_positions_supported(decoder_body(self.model).layers[-1])
        )
        if self.splits_layers:
            self._check_layer_split()
        if cfg.lower_layers_int8:
            check_int8_applicable(self.first_adapted_layer, device, self.backbone_dtype)
            quantize_lower_layers(decoder_body(self.model).layers, self.first_adapted_layer)

    def summary(self) -> str:
        """One line for a run's log: the model, the body's dtype and why, the adapted layers."""
        dtype = str(self.backbone_dtype).removeprefix("torch.")
        return (
            f"LLM policy: {self.cfg.llm_model}, {self.n_layers} layers, body in {dtype} "
            f"({self.dtype_choice.reason}), LoRA on layers {self.first_adapted_layer}-{self.n_layers - 1}"
        )

    @property
    def device(self) -> torch.device:
        """Where the policy lives now (follows `.to(...)` / `.cuda()`)."""
        return self.head.query.weight.device

    # ------------------------------------------------------------------ forward passes
    def forward(self, batch: TokenBatch, avail: torch.Tensor, lower: LowerStates | None = None) -> torch.Tensor:
        """(M, 6 + n_targets) float32 logits of the LoRA policy; unavailable actions = MASKED_LOGIT.

        Args:
            batch: M right-padded prompts with `target_spans` of shape (M, n_targets, 2).
            avail: (M, 6 + n_targets) bool (or 0/1) availability, SMAC's `avail_actions` rows.
            lower: `lower_states(batch)`, when the frozen lower layers' output is already known:
                only the adapted top layers run (same logits, to float tolerance).
        """
        return self._logits(batch, avail, lower)

    @torch.no_grad()
    def reference_logits(
        self, batch: TokenBatch, avail: torch.Tensor, lower: LowerStates | None = None
    ) -> torch.Tensor:
        """As `forward`, with the LoRA adapter disabled: the frozen pre-trained policy (KL term).

        Runs under no_grad; peft's `disable_adapter` restores the adapter (and its requires_grad)
        in a finally block, so an exception here leaves the acting policy intact.
        """
        with self.model.disable_adapter():
            return self._logits(batch, avail, lower)

    def hidden(self, batch: TokenBatch) -> torch.Tensor:
        """(M, H) float32 final hidden state of each prompt's last real token (adapter on)."""
        batch = batch.to(self.device)
        states, offset = self._body_states(batch)
        last = last_token_index(batch.attention_mask) - offset
        return states[torch.arange(len(batch), device=self.device), last].float()

    def _logits(self, batch: TokenBatch, avail: torch.Tensor, lower: LowerStates | None = None) -> torch.Tensor:
        avail = check_inputs(batch, avail).to(self.device)
        batch = batch.to(self.device)
        n_targets = avail.shape[1] - N_BASE_ACTIONS
        # (M, L - offset, H) final-norm states
        states, offset = self._body_states(batch) if lower is None else self._upper_states(batch, lower)
        last = states[torch.arange(len(batch), device=self.device), last_token_index(batch.attention_mask) - offset]
        features = pool_spans(states, batch.target_spans - offset) if self.head.target_key is not None else None
        return mask_logits(self.head(last, n_targets, features), avail)

    def _body_states(self, batch: TokenBatch) -> tuple[torch.Tensor, int]:
        """Final-norm states (M, L - offset, H) of tokens `offset:`; through the prefix cache when it applies.

        With the cache, `offset` is the prefix length when every target span lies after the prefix
        (the prompt encoder puts the instruction and goal first), so the prefix's states are never
        broadcast to the batch; otherwise 0 and the prefix states are prepended.
        """
        # Checkpointed layers drop any cache while training (transformers forces use_cache=False),
        # so the prefix cache is used only where it can work (docs/PERFORMANCE.md).
        checkpointing_now = self.cfg.gradient_checkpointing and self.training and torch.is_grad_enabled()
        with self._autocast():
            if not (self.cfg.prefix_cache and batch.prefix_len > 0 and not checkpointing_now):
                with self._head_positions(batch, 0):
                    return body_hidden(self.model, batch.input_ids, batch.attention_mask), 0
            ids, mask, p = batch.input_ids, batch.attention_mask, batch.prefix_len
            _check_shared_prefix(batch)
            prefix = self._prefix(ids[:1, :p])
            with self._head_positions(batch, p):
                suffix = body_hidden_after_prefix(self.model, prefix, ids[:, p:], mask[:, p:])
        return _with_prefix_states(batch, prefix.states, suffix)

    # ------------------------------------------------------------------ frozen lower layers
    @property
    def splits_layers(self) -> bool:
        """True with `lora_layers: K` below the layer count: the lower layers are frozen."""
        return self.first_adapted_layer > 0

    def _lower_uses_prefix(self, batch: TokenBatch) -> bool:
        # Checkpointed layers drop any cache in training mode, so with gradient checkpointing the
        # boundary states are kept for whole rows (the plain path's layout).
        return self.cfg.prefix_cache and batch.prefix_len > 0 and not self.cfg.gradient_checkpointing

    def lower_offset(self, batch: TokenBatch) -> int:
        """The prefix length `lower_states(batch)` starts after: its states cover tokens `offset:`."""
        return batch.prefix_len if self._lower_uses_prefix(batch) else 0

    @torch.no_grad()
    def lower_states(self, batch: TokenBatch) -> LowerStates:
        """The frozen lower layers' output for `batch` (no autograd; adapter on or off: the same).

        Pass it to `forward` / `reference_logits` with the same `batch` to run the top layers only.
        """
        if not self.splits_layers:
            raise PolicyConfigError("lower_states needs lora_layers=K below the model's layer count")
        batch = batch.to(self.device)
        body, ids, mask = decoder_body(self.model), batch.input_ids, batch.attention_mask
        with self._autocast(), only_layers(body, range(self.first_adapted_layer), final_norm=False):
            if not self._lower_uses_prefix(batch):
                return LowerStates(body_hidden(self.model, ids, mask), 0, len(batch))
            p = batch.prefix_len
            _check_shared_prefix(batch)
            prefix = self._lower_prefix(ids[:1, :p])
            cache = full_cache(prefix.layers, len(batch))
            full_mask = torch.cat([mask.new_ones(len(batch), p), mask[:, p:]], dim=1)
            out = self.model(
                input_ids=ids[:, p:], attention_mask=full_mask, use_cache=True, **cache_kwargs(self.model, cache)
            )
        return LowerStates(out.last_hidden_state, p, len(batch))

    def _lower_prefix(self, prefix_ids: torch.Tensor) -> LowerPrefix:
        """The prefix through the frozen lower layers: computed once per prefix (no LoRA there)."""
        key = (tuple(prefix_ids[0].tolist()), prefix_ids.device)
        cached = self._lower_prefix_cache.get(key)
        if cached is None:
            b = self.first_adapted_layer
            with torch.no_grad(), only_layers(decoder_body(self.model), range(b), final_norm=False):
                out = self.model(input_ids=prefix_ids, attention_mask=torch.ones_like(prefix_ids), use_cache=True)
            kv = [layer_kv(output_cache(out), i) for i in range(b)]
            self._lower_prefix_cache.clear()
            # The top layers are skipped in the lower pass: their cache slots get placeholders.
            cached = self._lower_prefix_cache[key] = LowerPrefix(
                kv + [kv[0]] * (self.n_layers - b), out.last_hidden_state
            )
        return cached

    def _upper_states(self, batch: TokenBatch, lower: LowerStates) -> tuple[torch.Tensor, int]:
        """As `_body_states`, running the adapted top layers only, from `lower` (see `lower_states`)."""
        expected = batch.input_ids.shape[1] - lower.prefix_len
        if lower.rows != len(batch) or lower.states.shape[1] != expected:
            raise BatchError(
                f"lower states of {lower.rows} rows x {lower.states.shape[1]} tokens do not fit this "
                f"batch of {len(batch)} x {expected}: compute lower_states of the same rows"
            )
        body, mask, p = decoder_body(self.model), batch.attention_mask, lower.prefix_len
        top = range(self.first_adapted_layer, self.n_layers)
        with self._autocast():
            # The lower prefix is fetched before the lower layers become pass-throughs: on a cache
            # miss (another prefix came in between) it must run through the real lower layers.
            lower_prefix = self._lower_prefix(batch.input_ids[:1, :p]) if p > 0 else None
        with self._autocast(), only_layers(body, top, final_norm=True):
            if lower_prefix is None:
                with self._head_positions(batch, 0):
                    return body_hidden(self.model, None, mask, inputs_embeds=lower.states), 0
            prefix = self._prefix(batch.input_ids[:1, :p], lower_prefix)
            cache = full_cache(prefix.layers, len(batch))
            full_mask = torch.cat([mask.new_ones(len(batch), p), mask[:, p:]], dim=1)
            with self._head_positions(batch, p):
                out = self.model(
                    inputs_embeds=lower.states,
                    attention_mask=full_mask,
                    use_cache=True,
                    **cache_kwargs(self.model, cache),
                )
        return _with_prefix_states(batch, prefix.states, out.last_hidden_state)

    def _head_positions(self, batch: TokenBatch, offset: int):
        """Within: the last layer computes only the positions `offset:` the head reads (`head_positions_only`)."""
        if not self._head_positions_ok:
            return contextlib.nullcontext()
        spans = batch.target_spans if self.head.target_key is not None else None
        return last_layer_at(decoder_body(self.model), read_positions(batch.attention_mask, spans, offset))

    def _run_upper_prefix(self, prefix_ids: torch.Tensor, lower: LowerPrefix) -> PrefixKV:
        """The prefix's keys/values in the top layers (adapter as it is now), from its lower-layer
        states `lower` (computed with the lower layers in place); placeholders below."""
        out = self.model(inputs_embeds=lower.states, attention_mask=torch.ones_like(prefix_ids), use_cache=True)
        b = self.first_adapted_layer
        kv = [layer_kv(output_cache(out), i) for i in range(b, self.n_layers)]
        return PrefixKV([kv[0]] * b + kv, out.last_hidden_state)

    def _check_layer_split(self) -> None:
        """Once at start: the split passes reproduce the full forward with this transformers version."""
        vocab = int(self.model.get_base_model().config.vocab_size)
        ids = (torch.arange(7, device=self.device) * 7919 % max(vocab - 1, 1) + 1).reshape(1, 7)
        ones = torch.ones_like(ids)
        batch = TokenBatch(ids, ones, torch.tensor([7]), 4, torch.zeros(1, 0, 2, dtype=torch.long), 0)
        with torch.no_grad():
            expected = body_hidden(self.model, ids, ones)[:, -1].float()
            got = []
            for prefix_len in (0, 4):
                batch.prefix_len = prefix_len
                states, _ = self._upper_states(batch, self.lower_states(batch))
                got.append(states[:, -1].float())
        self._lower_prefix_cache.clear()
        self._prefix_cache.clear()
        tol = 1e-3 if self.backbone_dtype == torch.float32 else 5e-2
        scale = float(expected.abs().max()) + 1e-6
        if any(float((g - expected).abs().max()) > tol * scale for g in got):
            raise PolicyConfigError(
                "lora_layers=K: running the frozen lower layers apart does not reproduce the full forward with "
                f"this model ({type(decoder_body(self.model)).__name__}) and transformers version; set lora_layers=all"
            )

    def _prefix(self, prefix_ids: torch.Tensor, lower_prefix: LowerPrefix | None = None) -> PrefixKV:
        """The prefix's keys/values: reused across calls without autograd, recomputed with it.

        With gradients (PPO epochs) the prefix runs once per forward, so LoRA gets its gradient
        through it. Without (rollout, old and reference log-probs) it is cached: the reference
        prefix (adapter off) once per run, the policy prefix once per LoRA version. `lower_prefix`:
        the prefix through the frozen lower layers; then only the top layers run, from its states
        (`_run_upper_prefix`).
        """
        upper = lower_prefix is not None

        def run(ids: torch.Tensor) -> PrefixKV:
            return self._run_upper_prefix(ids, lower_prefix) if upper else run_prefix(self.model, ids)

        layer = self._a_lora_layer
        adapter_off = bool(layer.disable_adapters)
        if torch.is_grad_enabled():
            return run(prefix_ids)
        tag = (
            None
            if adapter_off
            else (tuple(layer.active_adapters), self.weights_version, tuple(p._version for p in self._lora_params))
        )
        key = (adapter_off, upper, tuple(prefix_ids[0].tolist()), prefix_ids.device, tag)
        cached = self._prefix_cache.get(key)
        if cached is None:
            stale = [k for k in self._prefix_cache if k[:2] == (adapter_off, upper)]
            for k in stale:  # one entry per (adapter on/off, pass): an older LoRA version is never reused
                del self._prefix_cache[k]
            cached = self._prefix_cache[key] = run(prefix_ids)
        return cached

    def weights_changed(self) -> None:
        """Call after every update of the trainable weights that bypasses `load_state_dict`.

        The learner calls it after each optimiser step. It invalidates the rollout's cached policy
        prefix and every rollout log-probability recorded for pi_old (`weights_version`).
        """
        self.weights_version += 1

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        # Runs for this module on every load_state_dict that reaches it (its own or a parent's).
        self.weights_changed()
        super()._load_from_state_dict(*args, **kwargs)

    def _autocast(self):
        """bf16/fp16 autocast on CUDA for a half-precision body: LoRA's fp32 matmuls run in bf16 too."""
        if (
            self.cfg.llm_autocast
            and self.device.type == "cuda"
            and self.backbone_dtype in (torch.bfloat16, torch.float16)
        ):
            return torch.autocast("cuda", dtype=self.backbone_dtype)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ chunks (bounded memory)
    def row_groups(self, batch: TokenBatch, max_rows: int | None = None, with_grad: bool = False) -> list[torch.Tensor]:
        """Row indices of the forwards this policy runs `batch` in (rollout, and the learner's chunks, with a backward per chunk).

        With `cfg.length_buckets`, rows of similar computed length share a forward; the computed
        length is the suffix after the prefix when the prefix is cached. Otherwise consecutive rows.

        Args:
            with_grad: the forwards are the learner's gradient forwards. Each computes the shared
                prefix again (its keys and values need the adapter's gradient), so one more forward
                also costs the prefix's tokens: fewer, fuller forwards.
        """
        cached = self.cfg.prefix_cache and batch.prefix_len > 0
        lengths = batch.lengths - (batch.prefix_len if cached else 0)
        overhead = forward_overhead_tokens(self.device.type, self._layer_weights)
        if with_grad and cached and not self.cfg.gradient_checkpointing:
            overhead += batch.prefix_len
        return row_groups(lengths, max_rows or self.cfg.max_prompts_per_forward, self.cfg.length_buckets, overhead)

    def iter_buckets(self, batch: TokenBatch, max_rows: int | None = None) -> Iterator[tuple[torch.Tensor, TokenBatch]]:
        """Yields (row indices, those rows trimmed to their longest) for each group of `row_groups`."""
        for index in self.row_groups(batch, max_rows):
            yield index, batch.select(index)

    def forward_chunked(
        self,
        batch: TokenBatch,
        avail: torch.Tensor,
        reference: bool = False,
        max_rows: int | None = None,
        keep_lower: RowLowerStates | None = None,
    ) -> torch.Tensor:
        """As `forward` (or `reference_logits`) in length buckets (`iter_buckets`); rows in the input order.

        Under autograd every chunk's graph is kept until backward: a learner runs `row_groups`
        itself with a backward per chunk; this is for rollouts and old/reference log-probs.

        Args:
            keep_lower: with `lora_layers: K`, each bucket runs as `lower_states` then the top
                layers (the same logits, to float tolerance) and its lower states are kept here, so
                that the learner need not run the frozen layers again (`lower_from_rollout`).
        """
        run = self.reference_logits if reference else self.forward
        split = keep_lower is not None and self.splits_layers
        indices, parts = [], []
        for index, chunk in self.iter_buckets(batch, max_rows):
            indices.append(index)
            chunk_avail = avail[index.to(avail.device)]
            if split:
                lower = self.lower_states(chunk)
                keep_lower.add(index, chunk.lengths, lower)
                parts.append(run(chunk, chunk_avail, lower=lower))
            else:
                parts.append(run(chunk, chunk_avail))
        order = torch.cat(indices).to(self.device)
        return torch.cat(parts)[torch.argsort(order)]  # back to the input row order

    # ------------------------------------------------------------------ parameters, checkpoints
    def trainable_parameters(self) -> list[nn.Parameter]:
        """LoRA and head parameters: the only ones an optimiser should see."""
        return [p for p in self.parameters() if p.requires_grad]

    def parameter_counts(self) -> tuple[int, int]:
        """(trained, total) parameter counts."""
        trained = sum(p.numel() for p in self.trainable_parameters())
        return trained, sum(p.numel() for p in self.parameters())

    def save_trainable(self, directory: str | Path) -> Path:
        """Write the LoRA adapter (peft format), the head and the architecture facts to `directory`."""
        return save_trainable(self, Path(directory))

    def load_trainable(self, directory: str | Path) -> None:
        """Load what `save_trainable` wrote (any map: the head has no per-map weights)."""
        load_trainable(self, Path(directory))
        self.weights_changed()


def _has_layers(model: nn.Module) -> bool:
    body = model.get_base_model()
    return isinstance(getattr(body, "layers", None), nn.ModuleList) and hasattr(body, "norm")


def _check_shared_prefix(batch: TokenBatch) -> None:
    ids, mask, p = batch.input_ids, batch.attention_mask, batch.prefix_len
    if not bool(mask[:, :p].all()) or not bool((ids[:, :p] == ids[:1, :p]).all()):
        raise BatchError(
            f"prefix_cache needs the first prefix_len={p} tokens identical and unpadded in every row "
            "(right padding); this batch differs there: fix prefix_len or set prefix_cache=False"
        )


def _with_prefix_states(
    batch: TokenBatch, prefix_states: torch.Tensor, suffix: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """(suffix states, prefix length) when every target span lies after the prefix (the prompt
    encoder puts the instruction and goal first), so the prefix's states are never broadcast to
    the batch; otherwise the prefix states prepended, offset 0."""
    p, spans = batch.prefix_len, batch.target_spans
    if bool(((spans[..., 1] > spans[..., 0]) & (spans[..., 0] < p)).any()):
        return torch.cat([prefix_states.expand(len(batch), -1, -1), suffix], dim=1), 0
    return suffix, p
