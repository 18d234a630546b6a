"""Names of the metrics the plugin logs through EPyMARL's `logger.log_stat`.

One place for the learner (which writes them) and the report (which reads them). Names shared
with EPyMARL's built-in PPO learner keep its spelling, so `--config=mappo` runs plot on the same axes.
"""

# EPyMARL's runner metrics (written by its runners, read by the report).
TEST_WIN_RATE = "test_battle_won_mean"
TEST_RETURN = "test_return_mean"
TRAIN_WIN_RATE = "battle_won_mean"
TRAIN_RETURN = "return_mean"

# Shared with EPyMARL's ppo_learner.
POLICY_LOSS = "pg_loss"
VALUE_LOSS = "critic_loss"
AGENT_GRAD_NORM = "agent_grad_norm"
ADVANTAGE_MEAN = "advantage_mean"

# The plugin's own learner metrics.
ENTROPY = "policy_entropy"
KL_TO_REFERENCE = "kl_to_reference"
KL_BETA = "kl_beta"
CLIP_FRACTION = "clip_fraction"
APPROX_KL_OLD = "approx_kl_old"
EXPLAINED_VARIANCE = "explained_variance"
CRITIC_GRAD_NORM = "critic_grad_norm"
LEARNER_SAMPLES_PER_S = "learner_samples_per_s"
POLICY_LR = "policy_lr"  # the lr of the update's last policy step (below `lr` during lr_warmup_steps)

LEARNER_METRICS = (
    POLICY_LOSS,
    VALUE_LOSS,
    AGENT_GRAD_NORM,
    ADVANTAGE_MEAN,
    ENTROPY,
    KL_TO_REFERENCE,
    KL_BETA,
    CLIP_FRACTION,
    APPROX_KL_OLD,
    EXPLAINED_VARIANCE,
    CRITIC_GRAD_NORM,
    LEARNER_SAMPLES_PER_S,
    POLICY_LR,
)
