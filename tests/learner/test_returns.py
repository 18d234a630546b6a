"""n-step returns and RunningMeanStd, checked directly and against EPyMARL's own code when present."""

import os
import sys
from types import SimpleNamespace

import pytest
import torch

from epymarl_llm.learner.returns import RunningMeanStd, nstep_returns


def test_nstep_returns_by_hand():
    r = torch.tensor([[1.0, 2.0, 3.0]]).unsqueeze(-1)
    m = torch.tensor([[1.0, 1.0, 0.0]]).unsqueeze(-1)
    v = torch.tensor([[10.0, 20.0, 30.0, 40.0]]).unsqueeze(-1)
    g = 0.5
    out = nstep_returns(r, m, v, nsteps=1, gamma=g, add_value_last_step=True).squeeze(-1)[0]
    # t=0: r0 + g V1 m1; t=1: r1 + g V2 m2 (=0, masked); t=2 (last): r2 m2 + g V3 (unmasked)
    assert out.tolist() == [1 + g * 20, 2.0, 0.0 + g * 40]
    out = nstep_returns(r, m, v, nsteps=2, gamma=g, add_value_last_step=False).squeeze(-1)[0]
    assert out.tolist() == [1 + g * 2 + g * g * 0.0, 2 + 0.0, 0.0]


def _epymarl():
    path = os.environ.get("EPYMARL_PATH")
    if not path:
        pytest.skip("EPYMARL_PATH is not set: cannot compare with EPyMARL's own functions")
    src = os.path.join(path, "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return pytest.importorskip("learners.ppo_learner"), pytest.importorskip("components.standarize_stream")


@pytest.mark.parametrize("nsteps", [0, 1, 5, 12])
@pytest.mark.parametrize("last", [True, False])
def test_nstep_returns_equal_epymarl(nsteps, last):
    ppo, _ = _epymarl()
    g = torch.Generator().manual_seed(nsteps)
    r, v = torch.randn(3, 9, 4, generator=g), torch.randn(3, 10, 4, generator=g)
    m = (torch.rand(3, 9, 4, generator=g) > 0.2).float()
    holder = SimpleNamespace(args=SimpleNamespace(gamma=0.97, add_value_last_step=last))
    expected = ppo.PPOLearner.nstep_returns(holder, r, m, v, nsteps)
    assert torch.equal(nstep_returns(r, m, v, nsteps, 0.97, last), expected)


def test_running_mean_std_matches_pooled_statistics_and_epymarl():
    g = torch.Generator().manual_seed(0)
    chunks = [torch.randn(2, 7, 3, generator=g) * 3 + 1 for _ in range(4)]
    rms = RunningMeanStd(shape=(3,), epsilon=1e-12)
    for c in chunks:
        rms.update(c)
    pooled = torch.cat([c.reshape(-1, 3) for c in chunks])
    torch.testing.assert_close(rms.mean, pooled.mean(0), rtol=1e-4, atol=1e-5)
    assert rms.count == pytest.approx(56)
    restored = RunningMeanStd(shape=(3,))
    restored.load_state_dict(rms.state_dict())
    assert torch.equal(restored.normalise(pooled), rms.normalise(pooled))
    with pytest.raises(ValueError, match="number of agents"):
        RunningMeanStd(shape=(4,)).load_state_dict(rms.state_dict())
    if os.environ.get("EPYMARL_PATH"):
        _, stream = _epymarl()
        theirs, ours = stream.RunningMeanStd(shape=(3,)), RunningMeanStd(shape=(3,))
        for c in chunks:
            theirs.update(c)
            ours.update(c)
        torch.testing.assert_close(ours.mean, theirs.mean, rtol=0, atol=1e-6)
        torch.testing.assert_close(ours.var, theirs.var, rtol=1e-6, atol=1e-6)
