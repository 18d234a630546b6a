"""The metric keys the report reads, and how it labels them.

The keys themselves live in `epymarl_llm.metric_names` (one place for the learner, which writes
them through EPyMARL's `logger.log_stat`, and the report, which reads them from Sacred's
metrics.json / MongoDB `metrics`). This module re-exports them and adds what only the report needs:
axis labels and which keys each figure plots.

| key | written by | meaning |
| --- | --- | --- |
| `test_battle_won_mean` | EPyMARL runner | win rate over `test_nepisode` test episodes (sampled; `test_actions: greedy` takes the argmax) |
| `test_return_mean` | EPyMARL runner | mean test episode return |
| `battle_won_mean` / `return_mean` | EPyMARL runner | the same over training episodes |
| `pg_loss`, `critic_loss`, `agent_grad_norm`, `advantage_mean` | EPyMARL ppo_learner and the plugin | PPO terms, same spelling |
| `policy_entropy` | plugin learner | mean entropy of pi_theta over available actions (paper fig. 11) |
| `kl_to_reference` | plugin learner | mean KL(pi_theta || pi_ref), spec eq. (8) |
| `kl_beta` | plugin learner | beta_t of spec eq. (9) |
| `clip_fraction`, `approx_kl_old` | plugin learner | PPO diagnostics (ratio outside the clip range; KL to the old policy) |
| `explained_variance`, `critic_grad_norm`, `learner_samples_per_s` | plugin learner | critic fit, critic gradient norm, learner throughput |
"""

from __future__ import annotations

from epymarl_llm.metric_names import (  # noqa: F401  (re-exported)
    ADVANTAGE_MEAN,
    AGENT_GRAD_NORM,
    APPROX_KL_OLD,
    CLIP_FRACTION,
    CRITIC_GRAD_NORM,
    ENTROPY,
    EXPLAINED_VARIANCE,
    KL_BETA,
    KL_TO_REFERENCE,
    LEARNER_METRICS,
    LEARNER_SAMPLES_PER_S,
    POLICY_LOSS,
    TEST_RETURN,
    TEST_WIN_RATE,
    TRAIN_RETURN,
    TRAIN_WIN_RATE,
    VALUE_LOSS,
)

# Axis labels for the figures; a key not listed here is shown as is.
LABELS: dict[str, str] = {
    TEST_WIN_RATE: "Test win rate (%)",
    TRAIN_WIN_RATE: "Training win rate (%)",
    TEST_RETURN: "Test return",
    TRAIN_RETURN: "Training return",
    ENTROPY: "Policy entropy (nats)",
    KL_TO_REFERENCE: r"KL($\pi_\theta\,\|\,\pi_{\mathrm{ref}}$)",
    KL_BETA: r"KL coefficient $\beta$",
    POLICY_LOSS: "Policy loss",
    VALUE_LOSS: "Value loss",
    CLIP_FRACTION: "Clip fraction",
    APPROX_KL_OLD: "Approx. KL to old policy",
    EXPLAINED_VARIANCE: "Explained variance",
}

# The two panels of the KL figure (METHOD section 6: the KL term and its annealed coefficient).
KL_PANEL_METRICS: tuple[str, str] = (KL_TO_REFERENCE, KL_BETA)


def is_win_rate(metric: str) -> bool:
    """Win rates are fractions in the logs and percentages in figures and Markdown tables."""
    return metric.endswith("battle_won_mean")


def display_scale(metric: str) -> float:
    return 100.0 if is_win_rate(metric) else 1.0


def label(metric: str) -> str:
    return LABELS.get(metric, metric)
