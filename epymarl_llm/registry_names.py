"""The stable names under which the plugin registers in EPyMARL's registries.

These strings appear in user yamls (`mac: lolm_mac`, `runner: lolm_parallel`, ...): never rename them.
They sit below every layer because the parts name themselves with them too (the critic's default
`critic_type`, the learner's critic choice, LEED's configs), not only the EPyMARL integration.
"""

from __future__ import annotations

MAC = "lolm_mac"
AGENT = "lolm_llm"
LEARNER = "lolm_ppo_learner"
LEED_LEARNER = "lolm_leed_learner"  # lolm_ppo_learner + LEED's expert loss
MAPPO_LEED_LEARNER = "mappo_leed_learner"  # EPyMARL's ppo_learner + LEED's expert loss
CRITIC = "lolm_transformer_critic"
EPISODE_RUNNER = "lolm_episode"
PARALLEL_RUNNER = "lolm_parallel"

# EPyMARL registry module (imported from its `src/`) -> the plugin names it receives.
REGISTRY_NAMES: dict[str, tuple[str, ...]] = {
    "controllers": (MAC,),
    "learners": (LEARNER, LEED_LEARNER, MAPPO_LEED_LEARNER),
    "runners": (EPISODE_RUNNER, PARALLEL_RUNNER),
    "modules.agents": (AGENT,),
    "modules.critics": (CRITIC,),
}

# The plugin's algorithm configs (file stems in `config/`, installed into `src/config/algs/`).
MAIN_CONFIG = "lolm_mappo"
