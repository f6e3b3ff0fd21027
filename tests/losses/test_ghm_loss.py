"""The registered GHMC / GHMR modules against mmdet 3.3.0's, and their
moving averages through a checkpoint."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import imbalance_plugin.losses  # noqa: F401  (registers the modules)


def _grad(loss, x):
    return torch.autograd.grad(loss, x)[0]


def _cls_batches(seed, steps=6, c=20):
    gen = torch.Generator().manual_seed(seed)
    for n in [800, 120, 2000, 64, 1500, 300][:steps]:
        pred = (torch.randn(n, c, generator=gen) * 3).requires_grad_()
        labels = torch.randint(0, 4 * c, (n,), generator=gen).clamp(max=c)
        weight = (torch.rand(n, generator=gen) > 0.2).float()
        yield pred, labels, weight


def _reg_batches(seed, steps=6):
    gen = torch.Generator().manual_seed(seed)
    for n in [900, 50, 3000, 400, 10, 1200][:steps]:
        pred = torch.randn(n, 4, generator=gen).requires_grad_()
        target = pred.detach() + torch.randn(n, 4, generator=gen) * 0.1
        weight = (torch.rand(n, 1, generator=gen) > 0.7).float()
        yield pred, target, weight.expand(n, 4)


def test_ghmc_module_matches_mmdet_over_a_sequence():
    cfg = dict(bins=30, momentum=0.75, use_sigmoid=True, loss_weight=1.0)
    ours = MODELS.build(dict(type='imbalance_plugin.GHMC', compiled=False,
                             all_reduce=False, **cfg))
    ref = MODELS.build(dict(type='GHMC', **cfg))
    for pred, labels, weight in _cls_batches(0):
        a = ours(pred, labels, weight, avg_factor=17.0)
        b = ref(pred, labels, weight)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=0)
        torch.testing.assert_close(_grad(a, pred), _grad(b, pred),
                                   rtol=1e-5, atol=1e-10)
        torch.testing.assert_close(ours.acc_sum, ref.acc_sum, rtol=1e-6,
                                   atol=0)


def test_ghmr_module_matches_mmdet_over_a_sequence():
    cfg = dict(mu=0.02, bins=10, momentum=0.7, loss_weight=10.0)
    ours = MODELS.build(dict(type='imbalance_plugin.GHMR', compiled=False,
                             all_reduce=False, **cfg))
    ref = MODELS.build(dict(type='GHMR', **cfg))
    for pred, target, weight in _reg_batches(1):
        a = ours(pred, target, weight, avg_factor=3.0)
        b = ref(pred, target, weight)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=0)
        torch.testing.assert_close(_grad(a, pred), _grad(b, pred),
                                   rtol=1e-5, atol=1e-10)
        torch.testing.assert_close(ours.acc_sum, ref.acc_sum, rtol=1e-6,
                                   atol=0)


def test_paper_defaults():
    ghmc = MODELS.build(dict(type='imbalance_plugin.GHMC'))
    ghmr = MODELS.build(dict(type='imbalance_plugin.GHMR'))
    assert (ghmc.bins, ghmc.momentum) == (30, 0.75)
    assert (ghmr.mu, ghmr.bins, ghmr.momentum) == (0.02, 10, 0.7)
    assert ghmc.all_reduce and ghmr.all_reduce


@pytest.mark.parametrize('kind', ['GHMC', 'GHMR'])
def test_buffers_round_trip_through_a_checkpoint(kind, tmp_path):
    batches = list(_cls_batches(2) if kind == 'GHMC' else _reg_batches(2))
    cfg = dict(type=f'imbalance_plugin.{kind}', compiled=False)

    def step(module, batch):
        pred, target, weight = batch
        return module(pred, target, weight).detach()

    straight = MODELS.build(cfg)
    expected = [step(straight, b) for b in batches]

    first = MODELS.build(cfg)
    for b in batches[:3]:
        step(first, b)
    torch.save({'state_dict': first.state_dict()}, tmp_path / 'ckpt.pth')
    resumed = MODELS.build(cfg)
    state = torch.load(tmp_path / 'ckpt.pth', weights_only=True)
    assert set(state['state_dict']) == {'acc_sum'}
    resumed.load_state_dict(state['state_dict'])
    torch.testing.assert_close(resumed.acc_sum, first.acc_sum, rtol=0,
                               atol=0)
    for b, want in zip(batches[3:], expected[3:]):
        torch.testing.assert_close(step(resumed, b), want, rtol=0, atol=0)
    # a fresh module (no resume) would not continue the same way
    fresh = MODELS.build(cfg)
    assert not torch.equal(step(fresh, batches[3]), expected[3])


def test_softmax_ghmc_module_and_one_hot_targets():
    ours = MODELS.build(dict(type='imbalance_plugin.GHMC', use_sigmoid=False,
                             compiled=False, loss_weight=2.0))
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(100, 6, generator=gen, requires_grad=True)
    labels = torch.randint(0, 6, (100,), generator=gen)
    a = ours(pred, labels, torch.ones(100))
    acc_after_index = ours.acc_sum.clone()
    ours.acc_sum.zero_()
    b = ours(pred, F.one_hot(labels, 6), torch.ones(100))
    torch.testing.assert_close(a, b, rtol=1e-6, atol=0)
    torch.testing.assert_close(ours.acc_sum, acc_after_index, rtol=0, atol=0)
    # with one region only and momentum, beta = 1 / (1 - momentum) on the
    # first call, so the loss is 2 * 4 * mean cross-entropy
    one = MODELS.build(dict(type='imbalance_plugin.GHMC', bins=1,
                            use_sigmoid=False, compiled=False,
                            loss_weight=2.0))
    torch.testing.assert_close(one(pred, labels),
                               8 * F.cross_entropy(pred, labels),
                               rtol=1e-5, atol=0)


@pytest.mark.parametrize('kind,kwargs,name', [
    ('GHMC', dict(bins=0), 'bins'),
    ('GHMC', dict(bins=2.5), 'bins'),
    ('GHMC', dict(bins=True), 'bins'),
    ('GHMR', dict(bins=-3), 'bins'),
    ('GHMC', dict(momentum=1.0), 'momentum'),
    ('GHMR', dict(momentum=-0.1), 'momentum'),
    ('GHMR', dict(mu=0.0), 'mu'),
    ('GHMR', dict(mu=-0.02), 'mu'),
    ('GHMC', dict(loss_weight=-1.0), 'loss_weight'),
    ('GHMR', dict(loss_weight=-10.0), 'loss_weight'),
    ('GHMC', dict(reduction='avg'), 'reduction'),
    ('GHMR', dict(reduction=None), 'reduction'),
    ('GHMC', dict(use_sigmoid=None), 'use_sigmoid'),
    ('GHMC', dict(all_reduce='no'), 'all_reduce'),
])
def test_bad_config_raises_at_build(kind, kwargs, name):
    with pytest.raises(ValueError, match=name):
        MODELS.build(dict(type=f'imbalance_plugin.{kind}', **kwargs))


def test_mismatched_shapes_raise_with_both_shapes():
    ghmr = MODELS.build(dict(type='imbalance_plugin.GHMR'))
    with pytest.raises(ValueError, match=r'pred \(5, 4\), target \(5, 2\)'):
        ghmr(torch.randn(5, 4), torch.randn(5, 2), torch.ones(5, 4))
    ghmc = MODELS.build(dict(type='imbalance_plugin.GHMC'))
    with pytest.raises(ValueError, match=r'pred \(5, 4\), target \(6,\)'):
        ghmc(torch.randn(5, 4), torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match='reduction_override'):
        ghmc(torch.randn(5, 4), torch.zeros(5, dtype=torch.long),
             reduction_override='avg')


@pytest.mark.parametrize('kind', ['GHMC', 'GHMR'])
def test_retain_graph_and_grad_of_grad(kind):
    """backward twice gives twice the gradient; a second derivative equals
    autograd's through the element loss with beta held fixed (taken from
    mmdet's module, whose GHM weights carry no gradient)."""
    gen = torch.Generator().manual_seed(9)
    d = torch.float64
    if kind == 'GHMC':
        pred = torch.randn(30, 4, generator=gen, dtype=d) * 2
        labels = torch.randint(0, 5, (30,), generator=gen)
        target = F.one_hot(labels, 5)[:, :4].double()
        weight = torch.ones(30, 4, dtype=d)
        cfg = dict(bins=10, momentum=0.0)

        def element(x):
            return F.binary_cross_entropy_with_logits(x, target,
                                                      reduction='none')
    else:
        pred = torch.randn(30, 4, generator=gen, dtype=d)
        target = torch.randn(30, 4, generator=gen, dtype=d)
        labels, weight = target, torch.ones(30, 4, dtype=d)
        cfg = dict(mu=0.02, bins=10, momentum=0.0)

        def element(x):
            diff = x - target
            return torch.sqrt(diff * diff + 0.02 ** 2) - 0.02
    pred.requires_grad_()
    ours = MODELS.build(dict(type=f'imbalance_plugin.{kind}',
                             all_reduce=False, **cfg))
    ref = MODELS.build(dict(type=kind, **cfg))
    loss = ours(pred, labels, weight)
    first, = torch.autograd.grad(loss, pred, retain_graph=True)
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)
    torch.testing.assert_close(pred.grad, 2 * first, rtol=1e-12, atol=0)
    # beta of each element from mmdet's loss: the gradient of its loss over
    # that of the unweighted element loss
    ref_loss = ref(pred, labels if kind == 'GHMR' else target, weight)
    beta = _grad(ref_loss, pred) / _grad(element(pred).sum(), pred)
    probe = torch.randn(30, 4, generator=gen, dtype=d)
    g, = torch.autograd.grad(loss, pred, create_graph=True)
    hvp = _grad((g * probe).sum(), pred)
    g_ref, = torch.autograd.grad((beta.detach() * element(pred)).sum(), pred,
                                 create_graph=True)
    expected = _grad((g_ref * probe).sum(), pred)
    torch.testing.assert_close(hvp, expected, rtol=1e-6, atol=1e-10)
