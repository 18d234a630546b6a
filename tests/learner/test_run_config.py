"""The run's configuration is read once, typed, shared by every component, and fails with one error type."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from epymarl_llm.config_errors import ConfigError
from epymarl_llm.critic import CriticConfig
from epymarl_llm.learner import LearnerConfig
from epymarl_llm.leed.config import LeedConfig
from epymarl_llm.policy import PolicyConfig
from epymarl_llm.prompts import PromptConfig
from epymarl_llm.run_config import IntegrationConfig, LolmRunConfig, RunConfigError, complete_args, run_config


def test_the_run_config_is_built_once_with_typed_parts_and_kept_on_args():
    args = complete_args(n_agents=3, n_actions=8, kl_in_transfer=True, critic_layers=3)
    first = run_config(args)
    assert run_config(args) is first and args.lolm_config is first
    assert isinstance(first.policy, PolicyConfig) and isinstance(first.prompt, PromptConfig)
    assert isinstance(first.learner, LearnerConfig) and isinstance(first.critic, CriticConfig)
    assert isinstance(first.integration, IntegrationConfig)
    assert first.integration.kl_in_transfer is True and first.critic.critic_layers == 3
    assert (first.learner.n_agents, first.learner.n_actions) == (3, 8)


@pytest.mark.parametrize(
    "build",
    [
        lambda: PolicyConfig(lora_rank=0),
        lambda: PromptConfig(number_format="roman"),
        lambda: LearnerConfig(n_agents=0, n_actions=8),
        lambda: LearnerConfig(n_agents=3, n_actions=8, kl_mode="fixed"),  # the KL schedule's own check
        lambda: CriticConfig(critic_heads=3),
        lambda: CriticConfig(critic_type="coma_critic"),
        lambda: IntegrationConfig(test_actions="argmax"),
        lambda: LeedConfig(demo_coef=-1.0),
        lambda: LolmRunConfig.from_args(complete_args()),  # n_agents/n_actions not set
    ],
)
def test_every_configuration_mistake_is_a_config_error(build):
    with pytest.raises(ConfigError):
        build()


def test_the_learner_reads_the_runs_config_and_no_key_on_its_own(fake):
    from epymarl_llm.learner import LolmPPOLearner

    args = fake.args(epochs=3)
    learner = LolmPPOLearner(fake.mac(), {}, fake.logger(), args)
    assert learner.config is run_config(args).learner and learner.config.epochs == 3
    with pytest.raises(RunConfigError, match="LoLM-MARL needs mac"):
        LolmPPOLearner(fake.mac(), {}, fake.logger(), SimpleNamespace(n_agents=3, n_actions=8))
