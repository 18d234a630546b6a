"""`mappo_leed_learner`: EPyMARL's PPOLearner with `mappo_learner.MappoLeedMixin` in front.

This module imports EPyMARL's `learners` package from the user's checkout (its `src/` is on
`sys.path` in a run), so only the registry entry (`epymarl.registration.TARGETS`) imports it.
"""

from __future__ import annotations

from learners.ppo_learner import PPOLearner

from epymarl_llm.leed.mappo_learner import MappoLeedMixin


class MappoLeedLearner(MappoLeedMixin, PPOLearner):
    """`learner: mappo_leed_learner`: EPyMARL's MAPPO update plus LEED's expert loss in every epoch."""
