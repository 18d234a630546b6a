"""`log_kl_to_reference`: the KL ablation measures KL to the reference without training on it."""

from types import SimpleNamespace

import torch

from epymarl_llm.learner import LolmPPOLearner
from epymarl_llm.learner.episode_tensors import EpisodeTensors
from epymarl_llm.learner.rollout_record import RolloutRecord
from epymarl_llm.metric_names import KL_TO_REFERENCE
from epymarl_llm.prompts import PromptEncoder, load_map_layout
from epymarl_llm.run_config import complete_args
from epymarl_llm_tools.bench.episodes import synthetic_episodes

MAP = "3s5z_vs_3s6z"


def _recording_into(stats: dict):
    """A logger's log_stat that keeps each stat's last value in `stats` (bound here, not by the loop)."""
    return lambda key, value, t: stats.__setitem__(key, value)


def test_kl_is_logged_with_the_kl_term_off_and_the_update_is_unchanged(make_policy):
    layout = load_map_layout(MAP, env="sc2")
    episodes = synthetic_episodes(layout, episodes=1, length=3, seed=5)
    updates, logged = [], []
    for log_kl in (False, True):
        policy = make_policy()
        mac = SimpleNamespace(
            policy=policy,
            prompt_encoder=PromptEncoder(layout, policy.tokenizer),
            parameters=policy.parameters,
            rollout_record=RolloutRecord(),
        )
        stats = {}
        args = complete_args(
            n_agents=layout.n_agents,
            n_actions=layout.n_actions,
            epochs=1,
            use_cuda=False,
            lolm_layout=layout,
            env="sc2",
            env_args={"map_name": MAP},
            kl_mode="none",
            log_kl_to_reference=log_kl,
            learner_log_interval=0,
        )
        logger = SimpleNamespace(log_stat=_recording_into(stats))
        LolmPPOLearner(mac, {}, logger, args).train(EpisodeTensors({k: v.clone() for k, v in episodes.items()}), 0, 0)
        updates.append({n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad})
        logged.append(stats.get(KL_TO_REFERENCE))
    assert logged[0] is None and logged[1] is not None and logged[1] > 0  # the adapter moved the policy
    for name in updates[0]:
        torch.testing.assert_close(updates[1][name], updates[0][name], atol=1e-6, rtol=1e-5)
