"""Focal loss functions against mmdet 3.3.0 and independent formulas."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses.focal_loss import (
    py_focal_loss_with_prob,
    py_sigmoid_focal_loss,
)

from imbalance_plugin.functional.focal import focal_loss

RTOL = 1e-5


def _grad(loss, x):
    return torch.autograd.grad(loss, x)[0]


def _inputs(n, c, seed, scale=3.0):
    gen = torch.Generator().manual_seed(seed)
    pred = (torch.randn(n, c, generator=gen) * scale).requires_grad_()
    # about one anchor in four is foreground; label c is background
    labels = torch.randint(0, 4 * c, (n,), generator=gen).clamp(max=c)
    weight = (torch.rand(n, generator=gen) > 0.2).float()
    return pred, labels, weight


@pytest.mark.parametrize('n,c', [(1, 1), (37, 5), (500, 80)])
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_sigmoid_matches_mmdet(n, c, reduction):
    pred, labels, weight = _inputs(n, c, seed=n + c)
    onehot = F.one_hot(labels, c + 1)[:, :c]
    for target in (labels, onehot):
        for avg_factor in ([None, 7.5] if reduction == 'mean' else [None]):
            ours = focal_loss(pred, target, weight, gamma=2.0, alpha=0.25,
                              reduction=reduction, avg_factor=avg_factor)
            ref = py_sigmoid_focal_loss(pred, onehot, weight, gamma=2.0,
                                        alpha=0.25, reduction=reduction,
                                        avg_factor=avg_factor)
            torch.testing.assert_close(ours, ref, rtol=RTOL, atol=1e-7)
            torch.testing.assert_close(_grad(ours.sum(), pred),
                                       _grad(ref.sum(), pred),
                                       rtol=RTOL, atol=1e-7)


def test_sigmoid_element_weights_and_soft_targets_match_mmdet():
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(64, 6, generator=gen, requires_grad=True)
    soft = torch.rand(64, 6, generator=gen)
    weight = torch.rand(64, 6, generator=gen)
    for gamma, alpha in [(1.5, 0.4), (0.0, 0.9), (3.0, 0.0)]:
        ours = focal_loss(pred, soft, weight.flatten(), gamma=gamma,
                          alpha=alpha, reduction='sum')
        ref = py_sigmoid_focal_loss(pred, soft, weight, gamma=gamma,
                                    alpha=alpha, reduction='sum')
        torch.testing.assert_close(ours, ref, rtol=RTOL, atol=1e-6)
        torch.testing.assert_close(_grad(ours, pred), _grad(ref, pred),
                                   rtol=RTOL, atol=1e-6)


def test_sigmoid_per_class_alpha_and_no_alpha():
    pred, labels, _ = _inputs(200, 4, seed=5)
    t = F.one_hot(labels, 5)[:, :4].float()
    alpha = torch.tensor([0.1, 0.3, 0.6, 0.9])
    p = torch.sigmoid(pred)
    p_t = p * t + (1 - p) * (1 - t)
    alpha_t = alpha * t + (1 - alpha) * (1 - t)
    expected = -(alpha_t * (1 - p_t) ** 2 * torch.log(p_t))
    ours = focal_loss(pred, labels, alpha=alpha.tolist(), reduction='none')
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)
    no_alpha = focal_loss(pred, labels, alpha=None, reduction='none')
    torch.testing.assert_close(no_alpha, expected / alpha_t, rtol=1e-4,
                               atol=1e-6)
    # gamma 0 without alpha is binary cross-entropy
    torch.testing.assert_close(
        focal_loss(pred, labels, gamma=0.0, alpha=None),
        F.binary_cross_entropy_with_logits(pred, t), rtol=RTOL, atol=0)


def _softmax_focal_reference(pred, labels, gamma, alpha_vec):
    log_p = torch.log_softmax(pred.double(), dim=1)
    valid = labels < pred.shape[1]
    safe = labels.clamp(max=pred.shape[1] - 1)
    log_p_y = log_p.gather(1, safe[:, None]).squeeze(1)
    a = alpha_vec.double()[safe] if alpha_vec is not None else 1.0
    loss = -a * (1 - log_p_y.exp()) ** gamma * log_p_y
    return torch.where(valid, loss, 0.0)


@pytest.mark.parametrize('gamma', [0.0, 0.5, 2.0])
def test_softmax_matches_log_softmax_formula(gamma):
    gen = torch.Generator().manual_seed(11)
    n, k = 300, 9  # 8 classes + background
    pred = (torch.randn(n, k, generator=gen) * 4).double().requires_grad_()
    labels = torch.randint(0, k, (n,), generator=gen)
    weight = torch.rand(n, generator=gen).double()
    alpha_vec = torch.full((k,), 0.25, dtype=torch.float64)
    alpha_vec[-1] = 0.75
    for alpha, vec in [(0.25, alpha_vec), (None, None),
                       (torch.linspace(0.1, 0.9, k).tolist(),
                        torch.linspace(0.1, 0.9, k))]:
        ours = focal_loss(pred, labels, weight, gamma=gamma, alpha=alpha,
                          use_sigmoid=False, reduction='none')
        expected = _softmax_focal_reference(pred, labels, gamma, vec) * weight
        torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(_grad(ours.sum(), pred),
                                   _grad(expected.sum(), pred),
                                   rtol=1e-10, atol=1e-12)
    onehot = F.one_hot(labels, k)
    torch.testing.assert_close(
        focal_loss(pred, onehot, weight, gamma=gamma, use_sigmoid=False),
        focal_loss(pred, labels, weight, gamma=gamma, use_sigmoid=False))


def test_softmax_gamma_zero_is_cross_entropy():
    gen = torch.Generator().manual_seed(2)
    pred = torch.randn(128, 21, generator=gen, requires_grad=True)
    labels = torch.randint(0, 21, (128,), generator=gen)
    ours = focal_loss(pred, labels, gamma=0.0, alpha=None, use_sigmoid=False)
    ref = F.cross_entropy(pred, labels)
    torch.testing.assert_close(ours, ref, rtol=RTOL, atol=0)
    torch.testing.assert_close(_grad(ours, pred), _grad(ref, pred),
                               rtol=RTOL, atol=1e-8)


@pytest.mark.parametrize('use_sigmoid', [True, False])
@pytest.mark.parametrize('gamma', [0.5, 2.0])
def test_gradcheck(use_sigmoid, gamma):
    gen = torch.Generator().manual_seed(0)
    pred = (torch.randn(12, 5, generator=gen, dtype=torch.float64) * 3)
    pred.requires_grad_()
    labels = torch.randint(0, 6 if use_sigmoid else 5, (12,), generator=gen)
    weight = torch.rand(12, generator=gen, dtype=torch.float64)
    weight.requires_grad_()
    soft = torch.rand(12, 5, generator=gen, dtype=torch.float64)
    if not use_sigmoid:
        soft = soft / soft.sum(1, keepdim=True)
    for target in (labels, soft):
        assert torch.autograd.gradcheck(
            lambda p, w: focal_loss(p, target, w, gamma=gamma,
                                    use_sigmoid=use_sigmoid,
                                    reduction='none'), (pred, weight))


@pytest.mark.parametrize('use_sigmoid', [True, False])
def test_edge_cases_are_finite(use_sigmoid):
    c = 4 if use_sigmoid else 5
    # zero anchors
    empty = torch.zeros(0, c, requires_grad=True)
    labels = torch.zeros(0, dtype=torch.long)
    for reduction in ('mean', 'sum'):
        loss = focal_loss(empty, labels, use_sigmoid=use_sigmoid,
                          reduction=reduction)
        loss.backward()
        assert loss.item() == 0
    # saturated logits, right and wrong, with gamma < 1 where autograd of
    # (1 - p_t) ** gamma would give inf * 0
    pred = torch.tensor([[1e4, -1e4, 1e4, -1e4, 0.0]])[:, :c].repeat(4, 1)
    labels = torch.tensor([0, 1, c - 1, 3])
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for gamma in (0.5, 2.0):
            x = pred.to(dtype).detach().requires_grad_()
            loss = focal_loss(x, labels, torch.ones(4), gamma=gamma,
                              use_sigmoid=use_sigmoid, reduction='sum')
            loss.backward()
            assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
            assert x.grad.dtype == dtype
    # all entries ignored by weight
    x = torch.randn(6, c, requires_grad=True)
    loss = focal_loss(x, torch.zeros(6, dtype=torch.long), torch.zeros(6),
                      use_sigmoid=use_sigmoid, avg_factor=0.0)
    loss.backward()
    assert loss.item() == 0 and (x.grad == 0).all()


def test_cpu_bfloat16_autocast():
    linear = torch.nn.Linear(8, 6)
    feats = torch.randn(40, 8)
    labels = torch.randint(0, 7, (40,))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = linear(feats)
        assert logits.dtype == torch.bfloat16
        loss = focal_loss(logits, labels, avg_factor=5.0)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(linear.weight.grad).all()
    ref = focal_loss(logits.float().detach(), labels, avg_factor=5.0)
    torch.testing.assert_close(loss.detach(), ref, rtol=1e-5, atol=0)


def test_mismatched_shapes_raise():
    pred = torch.randn(10, 4)
    with pytest.raises(ValueError, match=r'\(10, 4\).*\(10, 3\)'):
        focal_loss(pred, torch.zeros(10, 3))
    with pytest.raises(ValueError, match=r'\(10, 4\).*\(9,\)'):
        focal_loss(pred, torch.zeros(9, dtype=torch.long))
    with pytest.raises(ValueError, match=r'\(7,\).*\(10, 4\)'):
        focal_loss(pred, torch.zeros(10, dtype=torch.long), torch.ones(7))
    with pytest.raises(ValueError, match='alpha has 3 values'):
        focal_loss(pred, torch.zeros(10, dtype=torch.long),
                   alpha=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match='reduction'):
        focal_loss(pred, torch.zeros(10, dtype=torch.long), reduction='avg')
    with pytest.raises(ValueError, match='gamma'):
        focal_loss(pred, torch.zeros(10, dtype=torch.long), gamma=-1.0)


@pytest.mark.parametrize('use_sigmoid', [True, False])
def test_class_indices_out_of_range_raise_with_the_range(use_sigmoid):
    """Sigmoid: [0, C] (C the background); softmax: [0, K - 1]."""
    pred = torch.randn(10, 5)
    upper = 5 if use_sigmoid else 4
    ok = torch.full((10,), upper)
    focal_loss(pred, ok, use_sigmoid=use_sigmoid)
    for bad in (upper + 1, 9, -1):
        labels = ok.clone()
        labels[7] = bad
        with pytest.raises(RuntimeError, match=rf'\[0, {upper}\]'):
            focal_loss(pred, labels, use_sigmoid=use_sigmoid)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_dense_logits_with_one_hot_target_match_mmdet(reduction):
    """(B, C, H, W) logits with a one-hot target of that shape, as mmdet's
    FocalLoss accepts them (test_loss.py's dense case)."""
    gen = torch.Generator().manual_seed(5)
    b, c, h, w = 3, 5, 6, 7
    pred = torch.randn(b, c, h, w, generator=gen).mul(2).requires_grad_()
    labels = torch.randint(0, c, (b * h * w,), generator=gen)
    target = F.one_hot(labels, c).reshape(b, h, w, c).permute(0, 3, 1, 2)
    weight = torch.rand(b, c, h, w, generator=gen)
    for kwargs in (dict(), dict(weight=weight)):
        ours = focal_loss(pred, target, gamma=2.0, alpha=0.25,
                          reduction=reduction, **kwargs)
        ref = py_sigmoid_focal_loss(pred, target, gamma=2.0, alpha=0.25,
                                    reduction=reduction, **kwargs)
        torch.testing.assert_close(ours, ref, rtol=RTOL, atol=1e-7)
        torch.testing.assert_close(_grad(ours.sum(), pred),
                                   _grad(ref.sum(), pred), rtol=RTOL,
                                   atol=1e-8)
    # a per-class alpha runs along the class axis, dimension 1
    alpha = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5])
    ours = focal_loss(pred, target, alpha=alpha, reduction='none')
    for k in range(c):
        ref = py_sigmoid_focal_loss(pred[:, k], target[:, k], alpha=float(
            alpha[k]), reduction='none')
        torch.testing.assert_close(ours[:, k], ref, rtol=RTOL, atol=1e-7)


@pytest.mark.parametrize('use_sigmoid', [True, False])
def test_retain_graph_and_grad_of_grad(use_sigmoid):
    """backward twice, and a second derivative equal to autograd's through
    the plain formula (mmdet's for sigmoid, the log-softmax one for
    softmax)."""
    gen = torch.Generator().manual_seed(6)
    pred = torch.randn(40, 6, generator=gen, dtype=torch.float64) * 2
    pred.requires_grad_()
    labels = torch.randint(0, 6 if use_sigmoid else 5, (40,), generator=gen)
    weight = torch.rand(40, generator=gen, dtype=torch.float64)
    ours = focal_loss(pred, labels, weight, gamma=2.0, alpha=0.25,
                      use_sigmoid=use_sigmoid)
    if use_sigmoid:
        onehot = F.one_hot(labels, 7)[:, :6]
        ref = py_sigmoid_focal_loss(pred, onehot, weight, gamma=2.0,
                                    alpha=0.25)
    else:
        log_p = torch.log_softmax(pred, 1).gather(1, labels[:, None])[:, 0]
        alpha = torch.where(labels == 5, 0.75, 0.25).double()
        ref = (-alpha * (1 - log_p.exp()) ** 2 * log_p * weight).mean()
    first, = torch.autograd.grad(ours, pred, retain_graph=True)
    ours.backward(retain_graph=True)
    ours.backward(retain_graph=True)
    torch.testing.assert_close(pred.grad, 2 * first, rtol=1e-12, atol=0)
    probe = torch.randn(40, 6, generator=gen, dtype=torch.float64)
    hvp = []
    for loss in (ours, ref):
        g, = torch.autograd.grad(loss, pred, create_graph=True)
        hvp.append(_grad((g * probe).sum(), pred))
    torch.testing.assert_close(hvp[0], hvp[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('gamma', [0.5, 2.0])
def test_activated_probabilities_match_mmdet(gamma):
    """activated=True: pred holds probabilities (mmdet's
    py_focal_loss_with_prob), class-index and one-hot targets."""
    gen = torch.Generator().manual_seed(7)
    prob = torch.rand(50, 6, generator=gen).clamp(1e-4, 1 - 1e-4)
    prob.requires_grad_()
    labels = torch.randint(0, 7, (50,), generator=gen)
    weight = torch.rand(50, generator=gen)
    for target in (labels, F.one_hot(labels, 7)[:, :6]):
        ours = focal_loss(prob, target, weight, gamma=gamma, alpha=0.25,
                          avg_factor=9.0, activated=True)
        ref = py_focal_loss_with_prob(prob, target, weight, gamma=gamma,
                                      alpha=0.25, avg_factor=9.0)
        torch.testing.assert_close(ours, ref, rtol=RTOL, atol=1e-7)
        torch.testing.assert_close(_grad(ours, prob), _grad(ref, prob),
                                   rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match='use_sigmoid'):
        focal_loss(prob, labels.clamp(max=5), activated=True,
                   use_sigmoid=False)
