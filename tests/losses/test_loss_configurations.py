"""One process builds and calls many configurations of the three losses, as
a notebook, a sweep or a detector with several heads would, with the
compiled kernels on: every result equals the eager one, and nothing raises
or falls back to eager.

Compilation is the cost (seconds per compiled copy), so the configurations
vary what must not compile again (hyper-parameters, class counts >= 2,
avg_factor, 'mean' vs 'sum', retain_graph, create_graph) freely, and what
does compile (dtype, reduction 'none', weight form, no_grad, one class)
once per loss.
"""
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import imbalance_plugin.losses  # noqa: F401  (registers the modules)
from imbalance_plugin.functional import compile as compile_mod
from tests.compile_marks import needs_compiled_kernels


@pytest.fixture(autouse=True)
def _compilation_on(monkeypatch):
    monkeypatch.setenv(compile_mod.ENV_VAR, '1')


def _focal(**kwargs):
    return dict(type='imbalance_plugin.FocalLoss', **kwargs)


def _ghmc(**kwargs):
    return dict(type='imbalance_plugin.GHMC', all_reduce=False, **kwargs)


def _ghmr(**kwargs):
    return dict(type='imbalance_plugin.GHMR', all_reduce=False, **kwargs)


# (config, call): call keys: classes, dtype, target ('index' / 'onehot'),
# weight (None / 'row' / 'element'), avg ('float' / 'tensor' / None),
# reduction (override), mode ('grad' / 'no_grad' / 'retain' / 'create')
BASE = dict(classes=80, dtype=torch.float32, target='index', weight='row',
            avg='float', reduction=None, mode='grad')
CASES = [
    (_focal(gamma=g, alpha=a), {})
    for g, a in [(2.0, 0.25), (0.0, 0.5), (0.5, 0.25), (1.0, 0.1),
                 (2.5, 0.75), (3.0, None), (1.5, 0.9)]
] + [
    (_focal(gamma=2.0, alpha=0.25, loss_weight=3.0), dict(classes=2)),
    (_focal(gamma=1.0), dict(avg='tensor')),
    (_focal(gamma=2.0), dict(reduction='sum', avg=None)),
    (_focal(gamma=2.0), dict(reduction='none', avg=None)),
    (_focal(gamma=0.7, alpha=0.3), dict(reduction='none', avg=None,
                                        weight='element')),
    (_focal(gamma=2.0), dict(classes=1)),
    (_focal(gamma=2.0, alpha=0.4), dict(classes=1, mode='retain')),
    (_focal(gamma=2.0), dict(dtype=torch.float16)),
    (_focal(gamma=2.0), dict(target='onehot')),
    (_focal(gamma=2.0, alpha=0.5), dict(mode='retain')),
    (_focal(gamma=2.0, alpha=0.25), dict(mode='create')),
    (_focal(gamma=2.0, alpha=[0.1, 0.2]), dict(classes=2)),
    (_focal(use_sigmoid=False, gamma=2.0, alpha=0.25), dict(classes=81)),
    (_focal(use_sigmoid=False, gamma=0.5, alpha=None),
     dict(classes=3, avg='tensor')),
    (_focal(use_sigmoid=False, gamma=1.0), dict(classes=81, mode='create')),
    (_ghmc(bins=30, momentum=0.75), {}),
    (_ghmc(bins=10, momentum=0.0, loss_weight=2.0), dict(classes=2)),
    (_ghmc(bins=20, momentum=0.5), dict(reduction='sum')),
    (_ghmc(bins=30, momentum=0.75), dict(weight=None)),
    (_ghmc(bins=30, momentum=0.9), dict(dtype=torch.bfloat16)),
    (_ghmc(bins=15, momentum=0.75), dict(mode='retain')),
    (_ghmc(bins=30, momentum=0.75), dict(mode='create')),
    (_ghmc(use_sigmoid=False, bins=30, momentum=0.75), dict(classes=81)),
    (_ghmr(mu=0.02, bins=10, momentum=0.7, loss_weight=10.0),
     dict(weight='element')),
    (_ghmr(mu=0.05, bins=5, momentum=0.0), dict(weight='element')),
    (_ghmr(mu=0.02, bins=10, momentum=0.7), dict(weight='element',
                                                  mode='no_grad')),
    (_ghmr(mu=0.1, bins=12, momentum=0.3), dict(weight='element',
                                                 mode='retain')),
    (_ghmr(mu=0.02, bins=10, momentum=0.7), dict(weight='element',
                                                  mode='create')),
]


def _inputs(cfg, call, seed):
    gen = torch.Generator().manual_seed(seed)
    n, c = 64, call['classes']
    if cfg['type'].endswith('GHMR'):
        pred = torch.randn(n, 4, generator=gen)
        target = pred + 0.1 * torch.randn(n, 4, generator=gen)
        weight = (torch.rand(n, 4, generator=gen) > 0.3).float()
        return pred.to(call['dtype']), target, weight
    softmax = cfg.get('use_sigmoid', True) is False
    pred = 2 * torch.randn(n, c, generator=gen)
    labels = torch.randint(0, c if softmax else c + 1, (n,), generator=gen)
    target = labels
    if call['target'] == 'onehot':
        target = F.one_hot(labels, c + 1)[:, :c]
    weight = {None: None,
              'row': (torch.rand(n, generator=gen) > 0.2).float(),
              'element': torch.rand(n, c, generator=gen)}[call['weight']]
    return pred.to(call['dtype']), target, weight


def _run(module, cfg, call, batch):
    pred, target, weight = batch
    pred = pred.clone().requires_grad_(call['mode'] != 'no_grad')
    avg = {None: None, 'float': 7.0, 'tensor': torch.tensor(7.0)}[call['avg']]
    if cfg['type'].endswith(('GHMC', 'GHMR')):
        avg = None
    kwargs = dict(avg_factor=avg, reduction_override=call['reduction'])
    if call['mode'] == 'no_grad':
        with torch.no_grad():
            return module(pred, target, weight, **kwargs), None, None
    loss = module(pred, target, weight, **kwargs)
    out = loss.sum()
    second = None
    if call['mode'] == 'create':
        grad, = torch.autograd.grad(out, pred, create_graph=True)
        second, = torch.autograd.grad((grad * grad).sum(), pred)
    elif call['mode'] == 'retain':
        out.backward(retain_graph=True)
        out.backward()
        grad = pred.grad / 2
    else:
        grad, = torch.autograd.grad(out, pred)
    return loss.detach(), grad, second


@needs_compiled_kernels
def test_many_configurations_compiled_equal_eager_without_fallback():
    assert len(CASES) >= 30
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for i, (cfg, call) in enumerate(CASES):
            call = dict(BASE, **call)
            compiled = MODELS.build(cfg)
            eager = MODELS.build(dict(cfg, compiled=False))
            for seed in (i, i + 100):  # twice: GHM's moving average moves
                batch = _inputs(cfg, call, seed)
                got = _run(compiled, cfg, call, batch)
                want = _run(eager, cfg, call, batch)
                tol = (dict(rtol=1e-5, atol=1e-6) if call['dtype'] ==
                       torch.float32 else dict(rtol=1e-2, atol=1e-3))
                for a, b in zip(got, want):
                    if b is None:
                        assert a is None
                        continue
                    torch.testing.assert_close(
                        a, b, **tol, msg=lambda m: f'{cfg} {call}: {m}')
                if 'GHM' in cfg['type']:
                    torch.testing.assert_close(compiled.acc_sum,
                                               eager.acc_sum, rtol=1e-5,
                                               atol=0)
    ours = [str(w.message) for w in caught
            if 'imbalance_plugin' in str(w.message)]
    assert not ours
