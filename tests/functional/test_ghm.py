"""GHM-C and GHM-R functions against mmdet 3.3.0 and direct definitions."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses import GHMC as MMDetGHMC
from mmdet.models.losses import GHMR as MMDetGHMR

from imbalance_plugin.functional.ghm import ghmc_loss, ghmr_loss

RTOL = 1e-5


def _grad(loss, x):
    return torch.autograd.grad(loss, x)[0]


def _ghmc(pred, target, weight, acc, momentum, **kwargs):
    return ghmc_loss(pred, target, weight, acc, momentum, all_reduce=False,
                     **kwargs)


def _ghmr(pred, target, weight, acc, momentum, **kwargs):
    return ghmr_loss(pred, target, weight, acc, momentum, all_reduce=False,
                     **kwargs)


@pytest.mark.parametrize('bins,momentum', [(30, 0.75), (10, 0.0), (1, 0.5)])
@pytest.mark.parametrize('onehot', [False, True])
def test_ghmc_sequence_matches_mmdet(bins, momentum, onehot):
    ref = MMDetGHMC(bins=bins, momentum=momentum, use_sigmoid=True)
    state = torch.zeros(bins)
    gen = torch.Generator().manual_seed(bins)
    for step, (n, c) in enumerate([(400, 8), (37, 8), (1000, 3), (250, 8),
                                   (600, 20), (90, 8)]):
        pred = (torch.randn(n, c, generator=gen) * 3).requires_grad_()
        labels = torch.randint(0, 3 * c, (n,), generator=gen).clamp(max=c)
        weight = (torch.rand(n, generator=gen) > 0.25).float()
        target = F.one_hot(labels, c + 1)[:, :c] if onehot else labels
        ref_weight = weight[:, None].expand(n, c) if onehot else weight
        expected = ref(pred, target, ref_weight)
        ours, state = _ghmc(pred, target, weight, state, momentum)
        torch.testing.assert_close(ours, expected, rtol=RTOL, atol=0)
        torch.testing.assert_close(_grad(ours, pred), _grad(expected, pred),
                                   rtol=RTOL, atol=1e-9)
        if momentum > 0:
            torch.testing.assert_close(state, ref.acc_sum, rtol=1e-6,
                                       atol=0)


@pytest.mark.parametrize('bins,momentum', [(10, 0.7), (10, 0.0), (4, 0.3)])
def test_ghmr_sequence_matches_mmdet(bins, momentum):
    ref = MMDetGHMR(mu=0.02, bins=bins, momentum=momentum)
    state = torch.zeros(bins)
    gen = torch.Generator().manual_seed(bins + 1)
    for n in (500, 64, 2000, 300, 1, 800):
        pred = torch.randn(n, 4, generator=gen).requires_grad_()
        target = pred.detach() + torch.randn(n, 4, generator=gen) * 0.05
        weight = (torch.rand(n, 1, generator=gen) > 0.6).float().expand(n, 4)
        expected = ref(pred, target, weight)
        ours, state = _ghmr(pred, target, weight, state, momentum, mu=0.02)
        torch.testing.assert_close(ours, expected, rtol=RTOL, atol=0)
        torch.testing.assert_close(_grad(ours, pred), _grad(expected, pred),
                                   rtol=RTOL, atol=1e-9)
        if momentum > 0:
            torch.testing.assert_close(state, ref.acc_sum, rtol=1e-6,
                                       atol=0)


def test_reduction_none_and_sum_match_mmdet():
    gen = torch.Generator().manual_seed(4)
    pred = torch.randn(300, 6, generator=gen, requires_grad=True)
    labels = torch.randint(0, 12, (300,), generator=gen).clamp(max=6)
    weight = (torch.rand(300, generator=gen) > 0.3).float()
    ref = MMDetGHMC(bins=30, momentum=0.0)
    state = torch.zeros(30)
    expected = ref(pred, labels, weight, reduction_override='none')
    ours, _ = _ghmc(pred, labels, weight, state, 0.0, reduction='none')
    torch.testing.assert_close(ours, expected, rtol=RTOL, atol=1e-9)
    summed, _ = _ghmc(pred, labels, weight, state, 0.0, reduction='sum')
    torch.testing.assert_close(summed, expected.sum(), rtol=RTOL, atol=0)


def test_label_weights_multiply_the_loss():
    gen = torch.Generator().manual_seed(5)
    pred = torch.randn(200, 5, generator=gen, requires_grad=True)
    labels = torch.randint(0, 10, (200,), generator=gen).clamp(max=5)
    weight = torch.rand(200, generator=gen) * (torch.rand(200) > 0.3)
    state = torch.full((30,), 100.0)
    mask = (weight > 0).float()
    frac, acc_frac = _ghmc(pred, labels, weight, state, 0.75,
                           reduction='none')
    binary, acc_binary = _ghmc(pred, labels, mask, state, 0.75,
                               reduction='none')
    # density counted over weight > 0 in both; the value multiplies
    torch.testing.assert_close(acc_frac, acc_binary, rtol=0, atol=0)
    torch.testing.assert_close(frac, binary * weight[:, None], rtol=1e-6,
                               atol=0)
    mean, _ = _ghmc(pred, labels, weight, state, 0.75)
    n_valid = mask.sum() * 5
    torch.testing.assert_close(mean, frac.sum() / n_valid, rtol=1e-6, atol=0)
    # GHM-R alike
    reg = torch.randn(100, 4, generator=gen, requires_grad=True)
    target = torch.randn(100, 4, generator=gen)
    w = torch.rand(100, 4, generator=gen) * (torch.rand(100, 4) > 0.5)
    state_r = torch.zeros(10)
    frac, _ = _ghmr(reg, target, w, state_r, 0.7, reduction='none')
    binary, _ = _ghmr(reg, target, (w > 0).float(), state_r, 0.7,
                      reduction='none')
    torch.testing.assert_close(frac, binary * w, rtol=1e-6, atol=0)


def _softmax_ghmc_reference(pred, labels, weight, acc, bins, momentum):
    """Direct per-element computation of the documented softmax GHM-C."""
    p = torch.softmax(pred.double(), dim=1)
    k = pred.shape[1]
    valid = (weight > 0) & (labels >= 0) & (labels < k)
    safe = labels.clamp(0, k - 1)
    g = 1 - p.gather(1, safe[:, None]).squeeze(1)
    region = torch.clamp((g * bins).floor().long(), max=bins - 1)
    acc = acc.double().clone()
    counts = [int(((region == r) & valid).sum()) for r in range(bins)]
    non_empty = [r for r in range(bins) if counts[r] > 0]
    total = max(sum(counts), 1)
    beta = torch.zeros(pred.shape[0], dtype=torch.float64)
    for r in non_empty:
        acc[r] = momentum * acc[r] + (1 - momentum) * counts[r]
        beta[(region == r) & valid] = total / (len(non_empty) * acc[r])
    ce = -torch.log_softmax(pred.double(), 1).gather(1, safe[:, None])[:, 0]
    return (beta * weight.double() * ce).sum() / total, acc


def test_softmax_ghmc_matches_its_definition():
    bins, momentum = 12, 0.6
    gen = torch.Generator().manual_seed(8)
    state = torch.zeros(bins)
    ref_acc = torch.zeros(bins)
    for n in (300, 50, 700, 120, 400):
        pred = (torch.randn(n, 6, generator=gen) * 2).requires_grad_()
        labels = torch.randint(0, 6, (n,), generator=gen)
        weight = torch.rand(n, generator=gen) * (torch.rand(n) > 0.2)
        ours, state = _ghmc(pred, labels, weight, state, momentum,
                            use_sigmoid=False)
        expected, ref_acc = _softmax_ghmc_reference(
            pred, labels, weight, ref_acc, bins, momentum)
        torch.testing.assert_close(ours.double(), expected, rtol=1e-5,
                                   atol=0)
        torch.testing.assert_close(_grad(ours, pred),
                                   _grad(expected, pred).float(),
                                   rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(state.double(), ref_acc, rtol=1e-6,
                                   atol=0)
    # a one-hot target is the same as its class index
    onehot = F.one_hot(labels, 6)
    a, _ = _ghmc(pred, labels, weight, state, 0.0, use_sigmoid=False)
    b, _ = _ghmc(pred, onehot, weight, state, 0.0, use_sigmoid=False)
    torch.testing.assert_close(a, b, rtol=1e-6, atol=0)


@pytest.mark.parametrize('case', ['sigmoid', 'softmax', 'regression'])
def test_gradcheck(case):
    gen = torch.Generator().manual_seed(1)
    d = torch.float64
    # positive weights: moving one from 0 would change the valid set
    weight = torch.rand(10, generator=gen, dtype=d) + 0.1
    weight.requires_grad_()
    acc = torch.rand(10, generator=gen) * 20
    if case == 'regression':
        pred = torch.randn(10, 4, generator=gen, dtype=d, requires_grad=True)
        target = torch.randn(10, 4, generator=gen, dtype=d)

        def fn(p, w):
            return ghmr_loss(p, target, w, acc, 0.7, mu=0.02,
                             reduction='none', all_reduce=False)[0]
    else:
        pred = torch.randn(10, 5, generator=gen, dtype=d, requires_grad=True)
        classes = 6 if case == 'sigmoid' else 5  # sigmoid: 5 is background
        target = torch.randint(0, classes, (10,), generator=gen)

        def fn(p, w):
            return ghmc_loss(p, target, w, acc, 0.75,
                             use_sigmoid=case == 'sigmoid', reduction='none',
                             all_reduce=False)[0]
    assert torch.autograd.gradcheck(fn, (pred, weight))


@pytest.mark.parametrize('case', ['sigmoid', 'softmax', 'regression'])
def test_edge_cases_are_finite(case):
    bins = 10
    state = torch.zeros(bins)

    def run(pred, target, weight, **kwargs):
        if case == 'regression':
            return _ghmr(pred, target, weight, state, 0.7, **kwargs)
        return _ghmc(pred, target, weight, state, 0.75,
                     use_sigmoid=case == 'sigmoid', **kwargs)

    def target_for(pred, label):
        if case == 'regression':
            return torch.zeros_like(pred, dtype=torch.float32)
        return torch.full(pred.shape[:1], label, dtype=torch.long)

    # zero anchors
    empty = torch.zeros(0, 4, requires_grad=True)
    loss, new_state = run(empty, target_for(empty, 0), torch.zeros(0))
    loss.backward()
    assert loss.item() == 0 and torch.equal(new_state, state)
    # zero valid entries
    x = torch.randn(8, 4, requires_grad=True)
    loss, new_state = run(x, target_for(x, 1), torch.zeros(8))
    loss.backward()
    assert loss.item() == 0 and (x.grad == 0).all()
    assert torch.equal(new_state, state)
    # huge logits / residuals, all in one region, half precision
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        big = torch.tensor([[1e4, -1e4, 1e4, -1e4]] * 8).to(dtype)
        big.requires_grad_()
        loss, _ = run(big, target_for(big, 0), torch.ones(8))
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(big.grad).all()
        assert big.grad.dtype == dtype
    same = torch.zeros(50, 4, requires_grad=True)
    loss, new_state = run(same, target_for(same, 0), torch.ones(50))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(same.grad).all()
    assert (new_state > 0).sum() == 1


def test_cpu_bfloat16_autocast():
    linear = torch.nn.Linear(8, 4)
    feats = torch.randn(64, 8)
    labels = torch.randint(0, 5, (64,))
    target = torch.randn(64, 4)
    for fn, tgt in ((_ghmc, labels), (_ghmr, target)):
        state = torch.zeros(10)
        linear.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = linear(feats)
            loss, _ = fn(out, tgt, torch.ones(64), state, 0.7)
        loss.backward()
        assert torch.isfinite(loss)
        assert torch.isfinite(linear.weight.grad).all()
        ref, _ = fn(out.detach().float(), tgt, torch.ones(64), state, 0.7)
        torch.testing.assert_close(loss.detach(), ref, rtol=1e-5, atol=0)


def test_mismatched_shapes_raise():
    state = torch.zeros(10)
    with pytest.raises(ValueError, match=r'\(6, 4\).*\(6, 3\)'):
        _ghmr(torch.randn(6, 4), torch.randn(6, 3), None, state, 0.7)
    with pytest.raises(ValueError, match=r'\(6, 4\).*\(5,\)'):
        _ghmc(torch.randn(6, 4), torch.zeros(5, dtype=torch.long), None,
              state, 0.7)
    with pytest.raises(ValueError, match=r'\(3,\).*\(6, 4\)'):
        _ghmr(torch.randn(6, 4), torch.randn(6, 4), torch.ones(3), state,
              0.7)


@pytest.mark.parametrize('use_sigmoid', [True, False])
def test_class_indices_out_of_range_raise_with_the_range(use_sigmoid):
    """Sigmoid: [0, C] (C the background); softmax: [0, K - 1]."""
    state = torch.zeros(10)
    pred = torch.randn(10, 5)
    upper = 5 if use_sigmoid else 4
    ok = torch.full((10,), upper)
    _ghmc(pred, ok, None, state, 0.7, use_sigmoid=use_sigmoid)
    for bad in (upper + 1, -1):
        labels = ok.clone()
        labels[3] = bad
        with pytest.raises(RuntimeError, match=rf'\[0, {upper}\]'):
            _ghmc(pred, labels, None, state, 0.7, use_sigmoid=use_sigmoid)
