"""The annealed beta of eqs. 9 and 10: automatic start, cap, decay, zero, modes, resume."""

import pytest

from epymarl_llm.learner import KlBetaSchedule, LearnerConfig


def test_auto_start_then_linear_decay_to_zero():
    s = KlBetaSchedule(mode="anneal", lam=0.5, eps=0.1, beta_max=10.0, anneal_steps=1000)
    assert s.needs_start
    beta_0 = s.start(mappo_loss=-0.8, kl_loss=0.1)
    assert beta_0 == pytest.approx(0.5 * 0.8 / (0.1 + 0.1))  # eq. 10 with |L_MAPPO|
    assert not s.needs_start
    assert s.beta(0) == pytest.approx(2.0)
    assert s.beta(250) == pytest.approx(1.5)
    assert s.beta(999) == pytest.approx(2.0 * 0.001)
    assert s.beta(1000) == 0.0
    assert s.beta(5000) == 0.0
    with pytest.raises(RuntimeError, match="already set"):
        s.start(1.0, 1.0)


def test_cap_keeps_beta_finite_when_kl_starts_at_zero():
    s = KlBetaSchedule(lam=1.0, eps=1e-8, beta_max=3.0, anneal_steps=100)
    assert s.start(mappo_loss=2.0, kl_loss=0.0) == 3.0
    assert s.beta(50) == pytest.approx(1.5)


def test_given_beta_init_skips_the_automatic_start_and_still_decays():
    s = KlBetaSchedule(beta_init=0.4, beta_max=0.1, anneal_steps=100)
    assert not s.needs_start
    assert s.beta(0) == 0.4 and s.beta(50) == pytest.approx(0.2) and s.beta(100) == 0.0


def test_fixed_and_none_modes():
    fixed = KlBetaSchedule(mode="fixed", beta_init=0.3, anneal_steps=10)
    assert fixed.beta(0) == fixed.beta(10**9) == 0.3
    off = KlBetaSchedule(mode="none")
    assert not off.enabled and not off.needs_start and off.beta(0) == 0.0


def test_resume_continues_where_the_schedule_stopped():
    s = KlBetaSchedule(anneal_steps=1000)
    s.start(1.0, 0.5)
    resumed = KlBetaSchedule(anneal_steps=1000)
    resumed.load_state_dict(s.state_dict())
    assert not resumed.needs_start and resumed.beta(400) == s.beta(400)
    transfer = KlBetaSchedule(mode="none")
    transfer.load_state_dict(s.state_dict())
    assert transfer.beta(0) == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kl_mode": "adaptive"}, "kl_mode must be one of"),
        ({"kl_mode": "fixed"}, "kl_beta_init"),
        ({"kl_lambda": -1.0}, "kl_lambda"),
        ({"kl_eps": 0.0}, "kl_eps"),
        ({"kl_beta_max": -0.1}, "kl_beta_max"),
        ({"kl_beta_init": -0.5}, "kl_beta_init"),
        ({"kl_anneal_steps": 0}, "kl_anneal_steps"),
        ({"entropy_coef": -0.01}, "entropy_coef"),
        ({"eps_clip": 1.5}, "eps_clip"),
        ({"lr": -1e-3}, "lr"),
        ({"max_prompts_per_forward": 0}, "max_prompts_per_forward"),
        ({"update_memory_mb": -1}, "update_memory_mb must be 'auto' or an integer >= 0"),
        ({"update_memory_mb": "lots"}, "update_memory_mb must be 'auto' or an integer >= 0"),
        ({"update_memory_mb": True}, "update_memory_mb must be 'auto' or an integer >= 0"),
        ({"common_reward": False}, "common_reward"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LearnerConfig(n_agents=3, n_actions=11, **kwargs)
