"""`lolm_leed_learner`: the KL-annealed MAPPO learner of lolm_mappo plus LEED's expert loss.

Nothing of the PPO update changes: the expert loss is attached through the learner's extra-loss
hook (`LolmPPOLearner.extra_loss`), which adds its gradient in every epoch before the clip and step.
"""

from __future__ import annotations

from typing import Any

from epymarl_llm.learner import LolmPPOLearner
from epymarl_llm.leed.demo_policies import LolmDemoPolicy
from epymarl_llm.leed.expert_loss import ExpertLoss


class LolmLeedLearner(LolmPPOLearner):
    def __init__(self, mac: Any, scheme: dict, logger: Any, args: Any, critic: Any = None):
        super().__init__(mac, scheme, logger, args, critic=critic)
        # Demonstration prompts are gradient forwards as the epochs' are: sized to the same memory.
        demo_policy = LolmDemoPolicy(mac, self.rows_within_memory, self.config.lower_cache_mb)
        self.extra_loss = ExpertLoss.from_args(args, demo_policy, logger)
