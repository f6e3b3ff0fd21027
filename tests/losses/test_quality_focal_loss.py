"""The registered QualityFocalLoss module against mmdet 3.3.0's."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import imbalance_plugin.losses  # noqa: F401  (registers the modules)
from imbalance_plugin.functional import compile as compile_mod
from imbalance_plugin.functional.quality_focal import quality_focal_loss
from tests.compile_marks import needs_compiled_kernels

SHAPES = [(1000, 80), (3, 2), (250, 7), (1, 1)]


def _build(**kwargs):
    return MODELS.build(dict(type='imbalance_plugin.QualityFocalLoss',
                             **kwargs))


def _mmdet(**kwargs):
    return MODELS.build(dict(type='QualityFocalLoss', **kwargs))


def _grad(loss, x):
    return torch.autograd.grad(loss, x)[0]


def _pair(n, c, gen, background=0.5):
    """Labels with about ``background`` of them the background index C,
    and quality scores in [0, 1]."""
    labels = torch.randint(0, c, (n,), generator=gen)
    labels[torch.rand(n, generator=gen) < background] = c
    scores = torch.rand(n, generator=gen)
    return labels, scores


def _soft(shape, gen):
    """Soft targets of ``shape``, 0 at about 70% of them."""
    target = torch.rand(shape, generator=gen)
    return target * (torch.rand(shape, generator=gen) < 0.3)


def _pred(shape, gen, activated):
    pred = torch.randn(shape, generator=gen) * 3
    return (pred.sigmoid() if activated else pred).requires_grad_()


def _assert_equal(ours, ref, pred, call):
    a, b = call(ours), call(ref)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(_grad(a.sum(), pred), _grad(b.sum(), pred),
                               rtol=1e-4, atol=1e-6)


def test_registered_under_the_plugin_scope():
    loss = _build(beta=1.5)
    assert type(loss).__module__.startswith('imbalance_plugin.')
    assert loss.use_sigmoid is True and loss.beta == 1.5


@pytest.mark.parametrize('activated', [False, True])
@pytest.mark.parametrize('beta', [2.0, 0.5, 1.0, 0.0])
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_pair_target_matches_mmdet(activated, beta, reduction):
    kwargs = dict(beta=beta, activated=activated, loss_weight=1.5)
    ours = _build(compiled=False, **kwargs)
    ref = _mmdet(**kwargs)
    gen = torch.Generator().manual_seed(0)
    for n, c in SHAPES:
        pred = _pred((n, c), gen, activated)
        labels, scores = _pair(n, c, gen)
        weight = (torch.rand(n, generator=gen) > 0.1).float()
        for w, avg in [(None, None), (weight, None), (weight, 17.0),
                       (weight, torch.tensor(3.5))]:
            if reduction == 'sum' and avg is not None:
                continue
            _assert_equal(ours, ref, pred, lambda loss: loss(
                pred, (labels, scores), w, avg_factor=avg,
                reduction_override=reduction))


@pytest.mark.parametrize('activated', [False, True])
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_tensor_target_matches_mmdet(activated, reduction):
    kwargs = dict(beta=2.0, activated=activated, reduction=reduction)
    ours = _build(compiled=False, **kwargs)
    ref = _mmdet(**kwargs)
    gen = torch.Generator().manual_seed(1)
    for shape in SHAPES + [(2, 5, 6, 7)]:
        pred = _pred(shape, gen, activated)
        target = _soft(shape, gen)
        loss_shape = shape[:1] + shape[2:]
        weight = torch.rand(loss_shape, generator=gen)
        for w in (None, weight):
            _assert_equal(ours, ref, pred,
                          lambda loss: loss(pred, target, w))


def test_background_only_and_one_hot_targets_match_mmdet():
    ours, ref = _build(compiled=False), _mmdet()
    gen = torch.Generator().manual_seed(2)
    pred = _pred((64, 5), gen, False)
    background = torch.full((64,), 5, dtype=torch.long)
    scores = torch.rand(64, generator=gen)
    _assert_equal(ours, ref, pred,
                  lambda loss: loss(pred, (background, scores)))
    labels, scores = _pair(64, 5, gen, background=0.0)
    # the same targets in both forms give the same loss
    dense = F.one_hot(labels, 5).float() * scores[:, None]
    torch.testing.assert_close(ours(pred, (labels, scores)),
                               ours(pred, dense))


@pytest.mark.parametrize('activated', [False, True])
def test_empty_input(activated):
    ours = _build(compiled=False, activated=activated)
    ref = _mmdet(activated=activated)
    pred = torch.empty(0, 80).requires_grad_()
    labels = torch.empty(0, dtype=torch.long)
    scores = torch.empty(0)
    for target in ((labels, scores), torch.empty(0, 80)):
        for reduction in ('sum', 'none'):
            _assert_equal(ours, ref, pred, lambda loss: loss(
                pred, target, reduction_override=reduction))
        # mmdet's mean of no row is NaN; ours is 0
        mean = ours(pred, target)
        assert mean.item() == 0.0
        assert _grad(mean, pred).shape == (0, 80)
        assert ours(pred, target, torch.empty(0), avg_factor=0.0).item() == 0


def test_binary_targets_without_alpha_equal_focal_loss():
    """On 0/1 targets without alpha both focal forms coincide: the
    difference is only for soft targets (docs/losses.md)."""
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(100, 6, generator=gen)
    labels, _ = _pair(100, 6, gen)
    one_hot = F.one_hot(labels, 7)[:, :6].float()
    focal = MODELS.build(dict(type='imbalance_plugin.FocalLoss', gamma=2.0,
                              alpha=None, reduction='none', compiled=False))
    qfl = _build(beta=2.0, reduction='none', compiled=False)
    torch.testing.assert_close(qfl(pred, one_hot),
                               focal(pred, one_hot).sum(1))
    soft = _soft((100, 6), gen)
    assert not torch.allclose(qfl(pred, soft), focal(pred, soft).sum(1))


def test_gradient_is_finite_where_autograd_is_not():
    """At p == t the modulating factor |t - p|^beta has an infinite slope
    for beta < 1 (0 * inf in autograd); saturated logits too."""
    pred = torch.tensor([[0.5, 0.25], [1.0, 0.0]], requires_grad=True)
    target = torch.tensor([[0.5, 0.25], [1.0, 0.0]])
    for beta in (0.0, 0.5, 2.0):
        loss = quality_focal_loss(pred, target, beta=beta, activated=True)
        assert torch.isfinite(_grad(loss, pred)).all()
    logits = torch.tensor([[100.0, -100.0, 0.0]], requires_grad=True)
    for target in (torch.tensor([[1.0, 0.0, 0.5]]),
                   (torch.tensor([0]), torch.tensor([0.3]))):
        loss = quality_focal_loss(logits, target, beta=0.5)
        assert torch.isfinite(loss) and torch.isfinite(
            _grad(loss, logits)).all()


def test_retain_graph_and_second_derivative():
    """backward(retain_graph=True) twice, and create_graph=True against
    autograd through the formula written with torch's BCE."""
    gen = torch.Generator().manual_seed(6)
    pred = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    pred.requires_grad_()
    target = _soft((40, 5), gen).double()
    loss = _build(beta=1.5, compiled=False)(pred, target)
    loss.backward(retain_graph=True)
    first = pred.grad.clone()
    loss.backward(retain_graph=True)
    torch.testing.assert_close(pred.grad, 2 * first)
    p = pred.sigmoid()
    formula = (F.binary_cross_entropy_with_logits(
        pred, target, reduction='none') * (target - p).abs() ** 1.5).sum(1)
    grad = torch.autograd.grad(loss, pred, create_graph=True)[0]
    want = torch.autograd.grad(formula.mean(), pred, create_graph=True)[0]
    torch.testing.assert_close(grad, want)
    torch.testing.assert_close(_grad((grad ** 2).sum(), pred),
                               _grad((want ** 2).sum(), pred))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision_input(dtype):
    gen = torch.Generator().manual_seed(4)
    pred = torch.randn(300, 8, generator=gen)
    labels, scores = _pair(300, 8, gen)
    loss = _build(compiled=False)
    low = pred.to(dtype).requires_grad_()
    value = loss(low, (labels, scores.to(dtype)))
    assert value.dtype == torch.float32
    assert _grad(value, low).dtype == dtype
    torch.testing.assert_close(
        value, loss(low.detach().float(), (labels, scores.to(dtype).float())))


@pytest.mark.parametrize('kwargs,name', [
    (dict(beta=-0.5), 'beta'),
    (dict(beta=float('nan')), 'beta'),
    (dict(beta=float('inf')), 'beta'),
    (dict(beta='2'), 'beta'),
    (dict(loss_weight=-1.0), 'loss_weight'),
    (dict(reduction='avg'), 'reduction'),
    (dict(use_sigmoid=False), 'use_sigmoid'),
    (dict(activated=1), 'activated'),
    (dict(compiled='yes'), 'compiled'),
])
def test_bad_arguments_are_refused_at_build_time(kwargs, name):
    with pytest.raises(ValueError, match=name):
        _build(**kwargs)


def test_unknown_argument_is_refused_by_name():
    with pytest.raises(TypeError, match='bta'):
        _build(bta=2.0)


def test_bad_inputs_raise():
    loss = _build(compiled=False)
    pred = torch.randn(4, 3)
    labels, scores = torch.tensor([0, 1, 2, 3]), torch.rand(4)
    with pytest.raises(ValueError, match='reduction_override'):
        loss(pred, (labels, scores), reduction_override='avg')
    with pytest.raises(ValueError, match='labels'):
        loss(pred, (labels.float(), scores))
    with pytest.raises(ValueError, match='scores'):
        loss(pred, (labels, scores[:3]))
    with pytest.raises(ValueError, match='pair'):
        loss(pred, (labels, scores, scores))
    with pytest.raises(ValueError, match='shapes differ'):
        loss(pred, torch.rand(4, 2))
    with pytest.raises(ValueError, match='weight'):
        loss(pred, (labels, scores), torch.ones(4, 3))
    for bad in (4, -1):  # C = 3 is background, 4 is beyond it
        wrong = torch.tensor([0, 1, bad, 3])
        with pytest.raises(RuntimeError, match=r'out of range.*\[0, 3\]'):
            loss(pred, (wrong, scores))
    with pytest.raises(ValueError, match='avg_factor'):
        loss(pred, (labels, scores), avg_factor=2.0,
             reduction_override='sum')


@needs_compiled_kernels
@pytest.mark.parametrize('form', ['pair', 'tensor'])
def test_compiled_kernel_matches_eager_without_recompiling(form,
                                                           monkeypatch):
    """The module's compiled kernel (the default) gives eager's values and
    gradients; other betas and numbers of rows reuse the first
    compilation (beta is a tensor argument, shapes are dynamic)."""
    from torch._dynamo.utils import counters
    monkeypatch.setenv(compile_mod.ENV_VAR, '1')
    torch._dynamo.reset()
    try:
        gen = torch.Generator().manual_seed(5)
        for step, (beta, n) in enumerate([(2.0, 500), (0.5, 333),
                                          (1.0, 64), (3.0, 1000)]):
            compiled = _build(beta=beta)
            eager = _build(beta=beta, compiled=False)
            pred = _pred((n, 7), gen, False)
            weight = torch.rand(n, generator=gen)
            target = _pair(n, 7, gen) if form == 'pair' else _soft((n, 7),
                                                                   gen)
            _assert_equal(compiled, eager, pred, lambda loss: loss(
                pred, target, weight, avg_factor=10.0))
            if step == 0:
                frames = counters['frames']['ok']
            assert counters['frames']['ok'] == frames, (beta, n)
    finally:
        torch._dynamo.reset()
