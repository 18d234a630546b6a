"""The learner's passes through the LLM policy, in length-sorted chunks of prompts.

`old_and_reference` is the single no-grad pass before the PPO epochs: the current weights give the
old policy (no `deepcopy` of the controller, METHOD section 7) and the adapter-off backbone gives the
reference policy (eq. 8); the reference never changes within an update, so it is computed once.
`policy_gradient_step` is one epoch: gradients are accumulated chunk by chunk with each chunk's share
of the batch mean, so the update equals one step on the whole batch (as EPyMARL's MAPPO takes) while
memory stays bounded by `max_prompts_per_forward`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from epymarl_llm.learner import losses
from epymarl_llm.learner.lower_cache import LowerStatesCache
from epymarl_llm.token_batch import TokenBatch


@dataclass
class OldPolicy:
    """What the epochs need from the pre-update policy, per live agent-step.

    Args:
        log_prob_taken: (M,) log pi_old(a|o) of the taken actions.
        ref_log_probs: (M, A) fp32 reference log-probabilities, or None when the KL term is off.
        entropy_mean: mean entropy of pi_old.
        kl_mean: mean KL(pi_old || pi_ref) (0 when the KL term is off).
    """

    log_prob_taken: torch.Tensor
    ref_log_probs: torch.Tensor | None
    entropy_mean: float
    kl_mean: float


@dataclass
class EpochStats:
    """Means over the live agent-steps of one epoch, before its optimiser step."""

    mappo_loss: float
    kl: float
    entropy: float
    clip_fraction: float
    approx_kl_old: float


def old_and_reference(
    policy,
    tokens: TokenBatch,
    avail: torch.Tensor,
    actions: torch.Tensor,
    chunks: list[torch.Tensor],
    with_reference: bool,
    device: torch.device,
    rollout_probs: torch.Tensor | None = None,
    epochs_path: bool = False,
    lower_cache: LowerStatesCache | None = None,
    on_minibatch: Callable[[int], None] | None = None,
) -> OldPolicy:
    """No-grad pass of the current weights (old policy) and, if asked, of the adapter-off reference.

    Args:
        rollout_probs: (M, A) the rollout's probabilities of these agent-steps, when they are pi_old
            (`RolloutRecord.lookup`): the old-policy pass is skipped; the reference pass still runs.
        epochs_path: run the old-policy forwards exactly as the PPO epochs will (with autograd
            recording, results detached), so that the first ratio is exactly 1 when the epochs take
            another path than a no-grad forward (gradient checkpointing runs without the prefix cache).
        on_minibatch: called with each chunk's index when it is done (progress lines).
    """
    m = len(tokens)
    log_prob_taken = torch.zeros(m, device=device)
    ref = torch.zeros(m, avail.shape[-1], device=device) if with_reference else None
    entropy_sum, kl_sum = 0.0, 0.0
    with torch.no_grad():
        for chunk, idx in enumerate(chunks):
            rows, chunk_avail = tokens.select(idx).to(device), avail[idx].to(device)
            lower = lower_cache.compute(chunk, rows, idx) if lower_cache is not None else None
            idx = idx.to(device)
            if rollout_probs is not None:
                # log of the rollout's fp32 softmax; unavailable actions (probability 0) are masked.
                logp = losses.masked_log_softmax(rollout_probs[idx].to(device).clamp_min(1e-38).log(), chunk_avail)
            elif epochs_path:
                with torch.enable_grad():
                    logp = losses.masked_log_softmax(_run(policy, rows, chunk_avail, lower), chunk_avail).detach()
            else:
                logp = losses.masked_log_softmax(_run(policy, rows, chunk_avail, lower), chunk_avail)
            log_prob_taken[idx] = logp.gather(-1, actions[idx].to(device).unsqueeze(-1)).squeeze(-1)
            entropy_sum += float(losses.entropy(logp, chunk_avail).sum())
            if ref is not None:
                ref_logits = (
                    policy.reference_logits(rows, chunk_avail, lower=lower)
                    if lower is not None
                    else (policy.reference_logits(rows, chunk_avail))
                )
                ref_logp = losses.masked_log_softmax(ref_logits, chunk_avail)
                ref[idx] = ref_logp
                kl_sum += float(losses.exact_kl(logp, ref_logp, chunk_avail).sum())
            if on_minibatch is not None:
                on_minibatch(chunk)
    return OldPolicy(log_prob_taken, ref, entropy_sum / max(m, 1), kl_sum / max(m, 1))


def policy_gradient_step(
    policy,
    tokens: TokenBatch,
    avail: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    old: OldPolicy,
    chunks: list[torch.Tensor],
    beta: float,
    eps_clip: float,
    entropy_coef: float,
    device: torch.device,
    lower_cache: LowerStatesCache | None = None,
    on_minibatch: Callable[[int], None] | None = None,
) -> EpochStats:
    """Accumulate d/dtheta [L_MAPPO + beta * L_KL] (eqs. 6-8) over all chunks; the caller steps.

    Args:
        advantages: (M,) per live agent-step, constant.
        beta: the KL coefficient of this update; the KL term is skipped when it is 0.
        lower_cache: the frozen lower layers' output per chunk (`old_and_reference` fills it).
        on_minibatch: called with each chunk's index when its backward is done (progress lines).
    """
    m = len(tokens)
    sums = dict(mappo=0.0, kl=0.0, entropy=0.0, clipped=0.0, approx_kl=0.0)
    for chunk, idx in enumerate(chunks):
        rows, chunk_avail = tokens.select(idx).to(device), avail[idx].to(device)
        idx = idx.to(device)
        lower = lower_cache.get(chunk) if lower_cache is not None else None
        logp = losses.masked_log_softmax(_run(policy, rows, chunk_avail, lower), chunk_avail)
        logp_taken = logp.gather(-1, actions[idx].to(device).unsqueeze(-1)).squeeze(-1)
        surrogate, ratio = losses.clipped_surrogate(logp_taken, old.log_prob_taken[idx], advantages[idx], eps_clip)
        entropy = losses.entropy(logp, chunk_avail)
        # Each chunk's share of the batch mean: summed over chunks, the gradient is the full-batch one.
        mappo = -(surrogate + entropy_coef * entropy).sum() / m
        loss = mappo
        if old.ref_log_probs is not None:
            kl = losses.exact_kl(logp, old.ref_log_probs[idx], chunk_avail).sum() / m
            if beta > 0:
                loss = loss + beta * kl
            sums["kl"] += float(kl.detach())
        loss.backward()
        log_ratio = (logp_taken - old.log_prob_taken[idx]).detach()
        sums["mappo"] += float(mappo.detach())
        sums["entropy"] += float(entropy.detach().sum()) / m
        share = len(idx) / m
        every = torch.ones_like(log_ratio)
        sums["clipped"] += float(losses.clip_fraction(ratio.detach(), every, eps_clip)) * share
        sums["approx_kl"] += float(losses.approx_kl_old(log_ratio, every)) * share
        if on_minibatch is not None:
            on_minibatch(chunk)
    return EpochStats(sums["mappo"], sums["kl"], sums["entropy"], sums["clipped"], sums["approx_kl"])


def _run(policy, rows: TokenBatch, avail: torch.Tensor, lower) -> torch.Tensor:
    """The policy's logits, through the top layers only when the lower layers' output is known."""
    return policy(rows, avail) if lower is None else policy(rows, avail, lower=lower)
