"""Pure loss helpers, each against a direct computation on small tensors."""

import math

import pytest
import torch

from epymarl_llm.learner import losses


def test_masked_mean_ignores_masked_rows_even_when_not_finite():
    values = torch.tensor([1.0, 3.0, float("nan"), float("inf")])
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert losses.masked_mean(values, mask).item() == 2.0
    assert losses.masked_mean(values, torch.zeros(4)).item() == 0.0


def _direct_probs(logits, avail):
    out = []
    for row, a in zip(logits.tolist(), avail.tolist(), strict=True):
        z = sum(math.exp(x) for x, ok in zip(row, a, strict=True) if ok)
        out.append([math.exp(x) / z if ok else 0.0 for x, ok in zip(row, a, strict=True)])
    return out


def test_log_softmax_entropy_and_kl_over_available_actions_only():
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0], [1.0, 1.0, -3.0, 9.0]])
    ref = torch.tensor([[0.0, 0.3, 1.0, 5.0], [2.0, -1.0, 0.0, 0.0]])
    avail = torch.tensor([[1, 1, 1, 0], [0, 1, 1, 0]])
    logp, logq = losses.masked_log_softmax(logits, avail), losses.masked_log_softmax(ref, avail)
    p, q = _direct_probs(logits, avail), _direct_probs(ref, avail)
    torch.testing.assert_close(logp.exp(), torch.tensor(p))
    h = [-sum(x * math.log(x) for x in row if x > 0) for row in p]
    kl = [sum(x * math.log(x / y) for x, y in zip(rp, rq, strict=True) if x > 0) for rp, rq in zip(p, q, strict=True)]
    torch.testing.assert_close(losses.entropy(logp, avail), torch.tensor(h))
    torch.testing.assert_close(losses.exact_kl(logp, logq, avail), torch.tensor(kl))
    assert torch.all(losses.exact_kl(logp, logp, avail) == 0)


def test_kl_ignores_non_finite_logits_of_unavailable_actions():
    logits = torch.tensor([[0.1, float("-inf"), 0.2]])
    avail = torch.tensor([[1, 0, 1]])
    logp = losses.masked_log_softmax(logits, avail)
    logq = losses.masked_log_softmax(torch.tensor([[1.0, 5.0, 0.0]]), avail)
    assert torch.isfinite(losses.exact_kl(logp, logq, avail)).all()
    assert torch.isfinite(losses.entropy(logp, avail)).all()


def test_ppo_loss_equals_a_direct_computation():
    logp = torch.tensor([-0.1, -2.0, -0.7, -1.2, -0.3], requires_grad=True)
    old = torch.tensor([-0.5, -1.0, -0.7, -1.9, -3.0])
    adv = torch.tensor([1.0, -2.0, 0.5, -1.0, 4.0])
    ent = torch.tensor([0.3, 0.9, 1.1, 0.2, 0.0])
    mask = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0])
    eps, c = 0.2, 0.01
    surr, ratio = losses.clipped_surrogate(logp, old, adv, eps)
    loss = losses.mappo_loss(surr, ent, mask, c)
    total = 0.0
    for lp, lo, a, h, m in zip(logp.tolist(), old.tolist(), adv.tolist(), ent.tolist(), mask.tolist(), strict=True):
        r = math.exp(lp - lo)
        total += m * (min(r * a, min(max(r, 1 - eps), 1 + eps) * a) + c * h)
    assert loss.item() == pytest.approx(-total / 4, rel=1e-6)
    loss.backward()
    assert logp.grad[4] == 0  # masked step adds nothing
    assert logp.grad[1] == 0  # ratio e^-1 clipped below with negative advantage: no gradient
    assert losses.clip_fraction(ratio, mask, eps).item() == pytest.approx(3 / 4)
    log_ratio = (logp - old).detach()
    direct = sum(m * (math.exp(x) - 1 - x) for x, m in zip(log_ratio.tolist(), mask.tolist(), strict=True)) / 4
    assert losses.approx_kl_old(log_ratio, mask).item() == pytest.approx(direct, rel=1e-6)


def test_explained_variance():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0, 100.0])
    mask = torch.tensor([1, 1, 1, 1, 0])
    assert losses.explained_variance(target, target, mask) == 1.0
    assert losses.explained_variance(torch.full((5,), 2.5), target, mask) == pytest.approx(0.0)
    pred = torch.tensor([1.5, 2.0, 2.5, 4.0, 0.0])
    t, p = target[:4], pred[:4]
    direct = 1 - ((t - p) - (t - p).mean()).pow(2).mean() / (t - t.mean()).pow(2).mean()
    assert losses.explained_variance(pred, target, mask) == pytest.approx(direct.item())
    assert math.isnan(losses.explained_variance(pred, torch.ones(5), mask))
