"""Pure loss helpers of the KL-annealed MAPPO learner (METHOD section 6, paper eqs. 7 and 8).

Every helper takes flat tensors over M agent-steps and a float/bool `mask` (M,) that selects
the live ones; masked-out rows may hold anything (even non-finite logits) and never reach a sum.
Log-probabilities are always taken in fp32: bf16 log-probs corrupt PPO ratios (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import torch

from epymarl_llm.actions import MASKED_LOGIT


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` where `mask` is set; 0 when nothing is set.

    Args:
        values: any shape; rows outside the mask are ignored even when non-finite.
        mask: same shape as `values` (bool or 0/1 float).
    """
    mask = mask.to(values.dtype)
    total = torch.where(mask > 0, values, torch.zeros_like(values)).sum()
    return total / mask.sum().clamp(min=1.0)


def masked_log_softmax(logits: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """fp32 log-probabilities over the available actions, a large negative number elsewhere.

    Args:
        logits: (M, A) any float dtype; entries of unavailable actions are ignored.
        avail: (M, A) 0/1 or bool; each row needs at least one available action.
    """
    logits = logits.float().masked_fill(avail == 0, MASKED_LOGIT)
    return torch.log_softmax(logits, dim=-1).masked_fill(avail == 0, MASKED_LOGIT)


def entropy(log_probs: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """Entropy H(pi) per row, over the available actions only. (M, A) -> (M,)."""
    probs = log_probs.exp()
    return -torch.where(avail > 0, probs * log_probs, torch.zeros_like(log_probs)).sum(-1)


def exact_kl(log_p: torch.Tensor, log_q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """Exact KL(p || q) per row over the available actions (eq. 8). (M, A) x 2 -> (M,).

    The action space is small and discrete, so the sum is exact rather than a sampled estimate.
    Both distributions must put all their mass on the available actions (masked_log_softmax).
    """
    terms = log_p.exp() * (log_p - log_q)
    return torch.where(avail > 0, terms, torch.zeros_like(terms)).sum(-1)


def clipped_surrogate(
    log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor, eps_clip: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate min(r A, clip(r, 1-eps, 1+eps) A) per agent-step (eq. 7).

    Args:
        log_prob: (M,) log pi_theta(a|o) of the taken actions, with gradient.
        old_log_prob: (M,) log pi_old(a|o), treated as a constant.
        advantages: (M,) treated as a constant.
    Returns:
        surrogate (M,) and the ratio r (M,).
    """
    ratio = torch.exp(log_prob - old_log_prob.detach())
    advantages = advantages.detach()
    surr1 = ratio * advantages
    surr2 = torch.clamp(ratio, 1.0 - eps_clip, 1.0 + eps_clip) * advantages
    return torch.min(surr1, surr2), ratio


def mappo_loss(
    surrogate: torch.Tensor, entropies: torch.Tensor, mask: torch.Tensor, entropy_coef: float
) -> torch.Tensor:
    """L_MAPPO = -mean[surrogate + c_ent * H] over live agent-steps (eq. 7). Scalar."""
    return -masked_mean(surrogate + entropy_coef * entropies, mask)


def clip_fraction(ratio: torch.Tensor, mask: torch.Tensor, eps_clip: float) -> torch.Tensor:
    """Share of live agent-steps whose ratio left [1-eps, 1+eps] (CleanRL's `clipfrac`)."""
    return masked_mean(((ratio - 1.0).abs() > eps_clip).float(), mask)


def approx_kl_old(log_ratio: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Approximate KL(pi_old || pi_theta) from the taken actions: mean[(r - 1) - log r].

    Schulman's low-variance, always non-negative estimator (also CleanRL's `approx_kl`).
    """
    return masked_mean(torch.expm1(log_ratio) - log_ratio, mask)


def explained_variance(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    """1 - Var[target - prediction] / Var[target] over masked entries; nan when Var[target] is 0.

    1 is a perfect critic, 0 one no better than a constant, below 0 worse than a constant.
    """
    keep = mask > 0
    target, prediction = target[keep].double(), prediction[keep].double()
    if target.numel() < 2:
        return float("nan")
    var_target = target.var(unbiased=False)
    if var_target == 0:
        return float("nan")
    return float(1.0 - (target - prediction).var(unbiased=False) / var_target)
