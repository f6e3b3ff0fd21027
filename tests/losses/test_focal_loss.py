"""The registered FocalLoss module against mmdet 3.3.0's."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import imbalance_plugin.losses  # noqa: F401  (registers the modules)


def _build(**kwargs):
    return MODELS.build(dict(type='imbalance_plugin.FocalLoss', **kwargs))


def _grad(loss, x):
    return torch.autograd.grad(loss, x)[0]


def test_registered_under_the_plugin_scope():
    loss = _build(gamma=1.0)
    assert type(loss).__module__.startswith('imbalance_plugin.')
    assert loss.use_sigmoid is True and loss.gamma == 1.0


@pytest.mark.parametrize('reduction_override', [None, 'sum', 'none'])
def test_sigmoid_module_matches_mmdet(reduction_override):
    ours = _build(gamma=2.0, alpha=0.25, loss_weight=2.5, compiled=False)
    ref = MODELS.build(dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                            alpha=0.25, loss_weight=2.5))
    gen = torch.Generator().manual_seed(0)
    for n, c in [(1000, 80), (3, 2), (250, 7)]:
        pred = torch.randn(n, c, generator=gen).mul(3).requires_grad_()
        labels = torch.randint(0, 5 * c, (n,), generator=gen).clamp(max=c)
        weight = (torch.rand(n, generator=gen) > 0.1).float()
        avg = None if reduction_override else float((labels < c).sum())
        for target in (labels, F.one_hot(labels, c + 1)[:, :c]):
            a = ours(pred, target, weight, avg_factor=avg,
                     reduction_override=reduction_override)
            b = ref(pred, target, weight, avg_factor=avg,
                    reduction_override=reduction_override)
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
            torch.testing.assert_close(_grad(a.sum(), pred),
                                       _grad(b.sum(), pred),
                                       rtol=1e-5, atol=1e-8)


def test_softmax_module_gamma_zero_is_weighted_cross_entropy():
    ours = _build(use_sigmoid=False, gamma=0.0, alpha=None, num_classes=4,
                  compiled=False)
    gen = torch.Generator().manual_seed(1)
    pred = torch.randn(64, 5, generator=gen, requires_grad=True)
    labels = torch.randint(0, 5, (64,), generator=gen)
    weight = torch.rand(64, generator=gen)
    a = ours(pred, labels, weight, avg_factor=20.0)
    b = (F.cross_entropy(pred, labels, reduction='none') * weight).sum() / 20
    torch.testing.assert_close(a, b, rtol=1e-5, atol=0)
    torch.testing.assert_close(_grad(a, pred), _grad(b, pred), rtol=1e-5,
                               atol=1e-8)
    with pytest.raises(ValueError, match='num_classes=4'):
        ours(torch.randn(3, 4), torch.zeros(3, dtype=torch.long))


def test_per_class_alpha_buffer_follows_the_module():
    loss = _build(alpha=[0.1, 0.2, 0.3], num_classes=3, compiled=False)
    assert loss.alpha.tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert 'alpha' not in loss.state_dict()
    pred = torch.randn(5, 3, dtype=torch.float64)
    out = loss.double()(pred, torch.tensor([0, 1, 2, 3, 1]))
    assert out.dtype == torch.float64


@pytest.mark.parametrize('kwargs,name', [
    (dict(gamma=-0.5), 'gamma'),
    (dict(gamma=float('nan')), 'gamma'),
    (dict(alpha=1.5), 'alpha'),
    (dict(alpha=-0.1), 'alpha'),
    (dict(alpha=[0.2, 1.2]), 'alpha'),
    (dict(alpha=[0.2, 0.3], num_classes=3), 'alpha'),
    (dict(alpha=[0.2, 0.3, 0.4], num_classes=3, use_sigmoid=False), 'alpha'),
    (dict(loss_weight=-1.0), 'loss_weight'),
    (dict(reduction='avg'), 'reduction'),
    (dict(use_sigmoid='yes'), 'use_sigmoid'),
    (dict(num_classes=0), 'num_classes'),
    (dict(compiled=1), 'compiled'),
])
def test_bad_config_raises_at_build(kwargs, name):
    with pytest.raises(ValueError, match=name):
        _build(**kwargs)


def test_bad_call_arguments_raise():
    loss = _build(compiled=False)
    pred = torch.randn(8, 3)
    with pytest.raises(ValueError, match=r'pred \(8, 3\), target \(8, 4\)'):
        loss(pred, torch.zeros(8, 4))
    with pytest.raises(ValueError, match='reduction_override'):
        loss(pred, torch.zeros(8, dtype=torch.long), reduction_override='x')
    with pytest.raises(ValueError, match='avg_factor'):
        loss(pred, torch.zeros(8, dtype=torch.long), avg_factor=2.0,
             reduction_override='sum')


@pytest.mark.parametrize('kind,misspelt', [
    ('FocalLoss', dict(gama=2.0)),
    ('FocalLoss', dict(use_sigmod=True)),
    ('GHMC', dict(momentun=0.75)),
    ('GHMR', dict(mu=0.02, bin=10)),
])
def test_unknown_arguments_are_refused_by_name(kind, misspelt):
    """A misspelt config key fails the build and names the key."""
    name, = misspelt.keys() - {'mu'}
    with pytest.raises(TypeError, match=name):
        MODELS.build(dict(type=f'imbalance_plugin.{kind}', **misspelt))


def test_class_indices_out_of_range_raise_with_the_range():
    """FocalLoss() on (10, 5) logits with labels 9: a wrong num_classes
    must not train on nothing."""
    pred = torch.randn(10, 5)
    with pytest.raises(RuntimeError, match=r'\[0, 5\]'):
        _build()(pred, torch.full((10,), 9))
    with pytest.raises(RuntimeError, match=r'\[0, 4\]'):
        _build(use_sigmoid=False)(pred, torch.full((10,), 5))


@pytest.mark.parametrize('reduction_override', [None, 'sum', 'none'])
def test_dense_logits_match_mmdet(reduction_override):
    """mmdet's FocalLoss takes (B, C, H, W) logits with a one-hot target of
    the same shape; so does ours, with equal values and gradients."""
    ours = _build(gamma=2.0, alpha=0.25, loss_weight=1.5, num_classes=5)
    ref = MODELS.build(dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                            alpha=0.25, loss_weight=1.5))
    gen = torch.Generator().manual_seed(4)
    b, c, h, w = 3, 5, 8, 6
    pred = torch.rand(b, c, h, w, generator=gen).requires_grad_()
    labels = torch.randint(0, c, (b * h * w,), generator=gen)
    target = F.one_hot(labels, c).reshape(b, h, w, c).permute(0, 3, 1, 2)
    weight = torch.rand(b, c, h, w, generator=gen)
    avg = None if reduction_override else 10.0
    for wt in (None, weight):
        a = ours(pred, target, wt, avg_factor=avg,
                 reduction_override=reduction_override)
        e = ref(pred, target, wt, avg_factor=avg,
                reduction_override=reduction_override)
        assert a.shape == e.shape
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(_grad(a.sum(), pred), _grad(e.sum(), pred),
                                   rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match='num_classes=5'):
        ours(pred[:, :4], target[:, :4])
