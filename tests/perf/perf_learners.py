"""The learner the performance tests drive: `LolmPPOLearner` over a policy on 3s5z_vs_3s6z prompts."""

from types import SimpleNamespace

from epymarl_llm.learner import LolmPPOLearner
from epymarl_llm.learner.rollout_record import RolloutRecord
from epymarl_llm.prompts import PromptEncoder
from epymarl_llm.run_config import complete_args

MAP = "3s5z_vs_3s6z"


def learner_for(policy, layout, logger=None, **keys):
    """(learner, mac) for `policy`; `keys` override the EPyMARL-like args (learner keys included)."""
    mac = SimpleNamespace(
        policy=policy,
        prompt_encoder=PromptEncoder(layout, policy.tokenizer),
        parameters=policy.parameters,
        rollout_record=RolloutRecord(),
    )
    args = complete_args(
        **{
            "n_agents": layout.n_agents,
            "n_actions": layout.n_actions,
            "epochs": 2,
            "max_prompts_per_forward": 16,
            "use_cuda": False,
            "lolm_layout": layout,
            "env": "sc2",
            "env_args": {"map_name": MAP},
            "lr": 1e-3,
            "llm_dtype": "float32",  # equality tests compare in float32, whatever `auto` picks here
            **keys,
        }
    )
    logger = logger or SimpleNamespace(log_stat=lambda *a, **k: None)
    learner = LolmPPOLearner(mac, {}, logger, args)
    mac.rollout_record = RolloutRecord.for_learner(learner.config)  # as `lolm_mac` builds it
    return learner, mac
