"""The contract every registered loss keeps (losses/base.py's front door):
reduction and its override, 'sum' with avg_factor refused, empty input,
loss_weight, dtypes, extreme logits, misspelt keys, repr.

A new loss must add its case to CASES: the first test fails until it does.
"""
import pytest
import torch

import imbalance_plugin.losses as plugin_losses
from imbalance_plugin.losses.base import LossModule
from imbalance_plugin.registry import MODELS

CLASSES = 3


def _labels(n, gen, classes=CLASSES):
    return torch.randint(0, classes + 1, (n,), generator=gen)


def _classification(n, dtype, gen, channels=CLASSES):
    """(pred, target), weight of a classifier over CLASSES with background
    CLASSES; ``channels`` CLASSES + 1 for softmax."""
    pred = torch.randn(n, channels, generator=gen).to(dtype)
    return (pred, _labels(n, gen)), torch.rand(n, generator=gen) + 0.5


def _quality(n, dtype, gen):
    labels = _labels(n, gen)
    scores = torch.rand(n, generator=gen)
    pred = torch.randn(n, CLASSES, generator=gen).to(dtype)
    return (pred, (labels, scores)), torch.rand(n, generator=gen) + 0.5


def _regression(n, dtype, gen):
    pred = torch.randn(n, 4, generator=gen).to(dtype)
    target = torch.randn(n, 4, generator=gen)
    return (pred, target), (torch.rand(n, 4, generator=gen) > 0.3).float()


def _alrp(n, dtype, gen):
    (pred, labels), weight = _classification(n, dtype, gen)
    return (pred, labels, torch.rand(n, generator=gen)), weight


#: (config, inputs(n, dtype, generator) -> (positional args, weight)); the
#: positional args end before ``weight``.
CASES = {
    'Focal-sigmoid': (dict(type='FocalLoss'), _classification),
    'Focal-softmax': (
        dict(type='FocalLoss', use_sigmoid=False),
        lambda n, dtype, gen: _classification(n, dtype, gen, CLASSES + 1)),
    'Focal-activated': (
        dict(type='FocalLoss', activated=True),
        lambda n, dtype, gen: ((lambda a, w: ((a[0].float().sigmoid()
                                               .to(dtype), a[1]), w))(
            *_classification(n, dtype, gen)))),
    'GHM-C-sigmoid': (dict(type='GHMC', bins=10), _classification),
    'GHM-C-softmax': (
        dict(type='GHMC', bins=10, use_sigmoid=False),
        lambda n, dtype, gen: _classification(n, dtype, gen, CLASSES + 1)),
    'GHM-R': (dict(type='GHMR', bins=10), _regression),
    'QFL': (dict(type='QualityFocalLoss'), _quality),
    'RankSort': (dict(type='RankSortLoss'), _quality),
    'AP': (dict(type='APLoss'), _classification),
    'aLRP': (dict(type='aLRPLoss', sb_period=1), _alrp),
}


def _build(case, **overrides):
    cfg = dict(CASES[case][0])
    cfg['type'] = 'imbalance_plugin.' + cfg['type']
    cls = MODELS.get(cfg['type'])
    if 'compiled' in cls.__init__.__code__.co_varnames:
        cfg.setdefault('compiled', False)  # compiled: test_loss_compile.py
    cfg.update(overrides)
    return MODELS.build(cfg)


def _inputs(case, n=24, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    args, weight = CASES[case][1](n, dtype, gen)
    args[0].requires_grad_(True)
    return args, weight


def _loss(case, args, weight, **kwargs):
    """Sum of the loss's parts (aLRP returns two) and the module."""
    module = _build(case, **kwargs.pop('build', {}))
    module.train()
    out = module(*args, weight=weight, **kwargs)
    parts = out if isinstance(out, tuple) else (out,)
    return sum(part.sum() for part in parts), parts, module


def test_every_registered_loss_has_a_case():
    registered = {cls for cls in MODELS.module_dict.values()
                  if isinstance(cls, type) and issubclass(cls, LossModule)}
    exported = {getattr(plugin_losses, name) for name in plugin_losses.__all__}
    assert exported <= registered
    covered = {MODELS.get('imbalance_plugin.' + cfg['type'])
               for cfg, _ in CASES.values()}
    assert covered == registered, (
        'add a case to CASES for ' +
        ', '.join(sorted(c.__name__ for c in registered - covered)))


@pytest.mark.parametrize('case', CASES)
def test_reduction_override_equals_the_built_reduction(case):
    module = _build(case)
    for reduction in module.reductions:
        args, weight = _inputs(case)
        _, built, _ = _loss(case, args, weight, build=dict(
            reduction=reduction))
        _, overridden, _ = _loss(case, args, weight,
                                 reduction_override=reduction)
        for a, b in zip(built, overridden):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    if 'none' in module.reductions:
        args, weight = _inputs(case)
        _, summed, _ = _loss(case, args, weight, reduction_override='sum')
        _, elements, _ = _loss(case, args, weight, reduction_override='none')
        assert elements[0].dim() >= 1
        torch.testing.assert_close(elements[0].sum(), summed[0], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize('case', CASES)
def test_bad_reductions_are_refused_by_name(case):
    module = _build(case)
    allowed = str(tuple(module.reductions))
    with pytest.raises(ValueError, match=r'reduction must be one of') as err:
        _build(case, reduction='avg')
    assert allowed in str(err.value)
    args, weight = _inputs(case)
    with pytest.raises(ValueError,
                       match=r'reduction_override must be one of') as err:
        module(*args, weight=weight, reduction_override='avg')
    assert allowed in str(err.value)


@pytest.mark.parametrize('case', CASES)
def test_sum_with_avg_factor_is_refused(case):
    args, weight = _inputs(case)
    with pytest.raises(ValueError, match="avg_factor can not be used with "
                                         "reduction='sum'"):
        _build(case)(*args, weight=weight, avg_factor=5.0,
                     reduction_override='sum')
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        _build(case, reduction='sum')(*args, weight=weight, avg_factor=5.0)


@pytest.mark.parametrize('case', CASES)
def test_empty_input_gives_zero_and_an_empty_gradient(case):
    module = _build(case)
    for reduction in module.reductions:
        args, weight = _inputs(case, n=0)
        total, parts, _ = _loss(case, args, weight,
                                reduction_override=reduction)
        total.backward()
        assert args[0].grad is not None
        assert args[0].grad.shape == args[0].shape
        for part in parts:
            assert torch.isfinite(part).all()
            if reduction != 'none':
                assert part.dim() == 0 and part.item() == 0


@pytest.mark.parametrize('case', CASES)
def test_loss_weight_scales_the_loss_and_its_gradient(case):
    args, weight = _inputs(case)
    total, parts, _ = _loss(case, args, weight)
    total.backward()
    grad = args[0].grad.clone()
    args[0].grad = None
    total_w, parts_w, _ = _loss(case, args, weight,
                                build=dict(loss_weight=2.5))
    total_w.backward()
    for a, b in zip(parts, parts_w):
        torch.testing.assert_close(b, 2.5 * a, rtol=1e-6, atol=0)
    torch.testing.assert_close(args[0].grad, 2.5 * grad, rtol=1e-5,
                               atol=1e-8)
    with pytest.raises(ValueError, match=r'loss_weight must be a finite '
                                         r'number in \[0, inf\)'):
        _build(case, loss_weight=-1.0)


@pytest.mark.parametrize('dtype', [torch.float64, torch.bfloat16])
@pytest.mark.parametrize('case', CASES)
def test_dtypes_round_trip(case, dtype):
    """The gradient comes back in pred's dtype; the loss agrees with the
    float32 loss of the same (rounded) input."""
    args, weight = _inputs(case, dtype=dtype)
    total, parts, _ = _loss(case, args, weight)
    total.backward()
    assert args[0].grad.dtype == dtype
    as_float = (args[0].detach().float().requires_grad_(True),) + args[1:]
    reference, ref_parts, _ = _loss(case, as_float, weight)
    reference.backward()
    for part, ref in zip(parts, ref_parts):
        assert part.dtype in (dtype, torch.float32)
        torch.testing.assert_close(part.float(), ref, rtol=1e-5, atol=1e-6)
    tolerance = 1e-5 if dtype == torch.float64 else 1e-2
    torch.testing.assert_close(args[0].grad.float(), as_float[0].grad,
                               rtol=tolerance, atol=tolerance * 1e-2)


@pytest.mark.parametrize('case', CASES)
def test_extreme_logits_stay_finite(case):
    args, weight = _inputs(case)
    if case == 'Focal-activated':
        extreme = torch.tensor([0.0, 1.0, 1e-30, 1 - 1e-7])
    else:
        extreme = torch.tensor([-1e4, 1e4, -80.0, 80.0])
    pred = extreme[torch.arange(args[0].numel()) % 4].view_as(args[0])
    args = (pred.requires_grad_(True),) + args[1:]
    total, parts, _ = _loss(case, args, weight)
    total.backward()
    assert all(torch.isfinite(part).all() for part in parts)
    assert torch.isfinite(args[0].grad).all()


@pytest.mark.parametrize('case', CASES)
def test_a_misspelt_key_is_named(case):
    with pytest.raises(TypeError, match='lose_weight'):
        _build(case, lose_weight=1.0)


@pytest.mark.parametrize('case', CASES)
def test_repr_shows_the_settings(case):
    module = _build(case, loss_weight=0.5)
    text = repr(module)
    assert 'loss_weight=0.5' in text and 'reduction=' in text
    for name in module.settings:
        assert f'{name}={getattr(module, name)!r}' in text
