"""Per-example gradient norms against autograd of the losses themselves."""
import pytest
import torch
import torch.nn.functional as F

from imbalance_plugin.diagnostics.gradient_norms import (
    asl1_g,
    focal_alpha_t,
    focal_gradient_norm,
    sigmoid_classification_g,
    smooth_l1_gradient_norm,
    softmax_classification_g,
)


def _logit_grad(loss_fn, x):
    x = x.clone().requires_grad_(True)
    loss_fn(x).sum().backward()
    return x.grad


@pytest.mark.parametrize('gamma,alpha', [(2.0, 0.25), (0.0, None), (1.5, 0.5)])
def test_focal_gradient_norm_matches_autograd(gamma, alpha):
    torch.manual_seed(0)
    x = torch.randn(400, dtype=torch.float64) * 4
    t = (torch.rand(400) < 0.3).double()

    def focal(logits):
        p = torch.sigmoid(logits)
        p_t = torch.where(t > 0, p, 1 - p)
        a_t = 1.0 if alpha is None else torch.where(t > 0, alpha, 1 - alpha)
        return -a_t * (1 - p_t) ** gamma * torch.log(p_t)

    expected = _logit_grad(focal, x).abs()
    g = (torch.sigmoid(x) - t).abs()
    got = focal_gradient_norm(g, gamma, focal_alpha_t(t > 0, alpha))
    torch.testing.assert_close(got.double(), expected, rtol=1e-4, atol=1e-7)


def test_focal_gradient_norm_with_gamma_zero_is_g_and_finite_at_one():
    g = torch.tensor([0.0, 0.3, 1.0])
    torch.testing.assert_close(focal_gradient_norm(g, 0.0), g)
    assert torch.isfinite(focal_gradient_norm(g, 2.0)).all()
    assert focal_gradient_norm(g, 2.0)[-1] == 1.0


def test_asl1_g_matches_autograd():
    mu = 0.02
    d = torch.randn(300, dtype=torch.float64) * 0.1
    expected = _logit_grad(lambda v: torch.sqrt(v * v + mu * mu) - mu,
                           d).abs()
    torch.testing.assert_close(asl1_g(d, mu).double(), expected, rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize('beta', [0.11, 1.0, 0.0])
def test_smooth_l1_gradient_norm_matches_autograd(beta):
    d = torch.randn(300, dtype=torch.float64) * 0.5
    d = d[(d.abs() - beta).abs() > 1e-6]  # away from the kink
    expected = _logit_grad(
        lambda v: F.smooth_l1_loss(v, torch.zeros_like(v), beta=beta,
                                   reduction='none'), d).abs()
    torch.testing.assert_close(smooth_l1_gradient_norm(d, beta).double(),
                               expected, rtol=1e-5, atol=1e-7)


def test_sigmoid_g_skips_ignored_anchors_and_marks_targets():
    cls_score = torch.tensor([[0.0, 2.0], [-1.0, 1.0], [3.0, -3.0]])
    labels = torch.tensor([1, 2, 0])  # 2 = background
    weights = torch.tensor([1.0, 1.0, 0.0])
    g, positive = sigmoid_classification_g(cls_score, labels, weights)
    p = torch.sigmoid(cls_score[:2]).reshape(-1)
    t = torch.tensor([0.0, 1.0, 0.0, 0.0])
    torch.testing.assert_close(g, (p - t).abs())
    assert positive.tolist() == [False, True, False, False]


def test_softmax_g_is_one_minus_p_of_label():
    cls_score = torch.randn(5, 4)
    labels = torch.tensor([0, 3, 2, 3, 1])  # 3 = background
    weights = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0])
    g, positive = softmax_classification_g(cls_score, labels, weights)
    p = cls_score.softmax(-1)
    keep = [0, 1, 3, 4]
    torch.testing.assert_close(g, 1 - p[keep, labels[keep]])
    assert positive.tolist() == [True, False, False, True]
