"""The KL-annealed MAPPO learner (METHOD section 6): pure loss helpers, the beta schedule, the learner.

`LolmPPOLearner` is imported lazily so that the pure helpers load without the policy stack.
"""

from epymarl_llm.learner.config import LearnerConfig
from epymarl_llm.learner.kl_schedule import KL_MODES, KlBetaSchedule

__all__ = ["KL_MODES", "KlBetaSchedule", "LearnerConfig", "LolmPPOLearner"]


def __getattr__(name: str):
    if name == "LolmPPOLearner":
        from epymarl_llm.learner.ppo_learner import LolmPPOLearner

        return LolmPPOLearner
    raise AttributeError(name)
