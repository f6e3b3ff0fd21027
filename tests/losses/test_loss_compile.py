"""The losses under torch.compile(fullgraph=True) on CPU match eager.

A graph break (from ``.item()``, a data-dependent Python branch or a host
sync) fails ``fullgraph=True``. Kept few and small: each compilation costs
seconds.
"""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import imbalance_plugin.losses  # noqa: F401  (registers the modules)
from imbalance_plugin.functional import compile as compile_mod


@pytest.fixture(autouse=True)
def _compilation_on(monkeypatch):
    # the suite may switch compilation off globally; these tests need it
    monkeypatch.setenv(compile_mod.ENV_VAR, '1')
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _inputs(kind, n, seed):
    gen = torch.Generator().manual_seed(seed)
    if kind == 'GHMR':
        pred = torch.randn(n, 4, generator=gen)
        target = pred + torch.randn(n, 4, generator=gen) * 0.1
        weight = (torch.rand(n, 4, generator=gen) > 0.5).float()
        return pred, target, weight
    channels = 7
    pred = torch.randn(n, channels, generator=gen) * 3
    labels = torch.randint(0, 2 * channels, (n,), generator=gen)
    labels = labels.clamp(max=channels)
    weight = (torch.rand(n, generator=gen) > 0.2).float()
    return pred, labels, weight


CASES = [
    ('FocalLoss', dict(use_sigmoid=True)),
    ('FocalLoss', dict(use_sigmoid=False)),
    ('GHMC', dict(use_sigmoid=True)),
    ('GHMC', dict(use_sigmoid=False)),
    ('GHMR', dict()),
]


def _step(module, batch, avg_factor=None):
    pred, target, weight = batch
    pred = pred.clone().requires_grad_()
    loss = module(pred, target, weight, avg_factor=avg_factor)
    loss.backward()
    return loss.detach(), pred.grad


@pytest.mark.parametrize('kind,kwargs', CASES)
def test_fullgraph_compile_of_the_module_matches_eager(kind, kwargs):
    cfg = dict(type=f'imbalance_plugin.{kind}', compiled=False, **kwargs)
    if kind != 'FocalLoss':
        cfg['all_reduce'] = False
    eager, model = MODELS.build(cfg), MODELS.build(cfg)
    compiled = torch.compile(model, fullgraph=True, dynamic=True)
    avg = 11.0 if kind == 'FocalLoss' else None
    for n, seed in [(300, 0), (170, 1), (420, 2)]:
        batch = _inputs(kind, n, seed)
        want_loss, want_grad = _step(eager, batch, avg)
        loss, grad = _step(compiled, batch, avg)
        torch.testing.assert_close(loss, want_loss, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(grad, want_grad, rtol=1e-5, atol=1e-8)
        if kind != 'FocalLoss':
            torch.testing.assert_close(model.acc_sum, eager.acc_sum,
                                       rtol=1e-6, atol=0)


@pytest.mark.parametrize('kind,kwargs', [
    ('FocalLoss', dict(alpha=0.25)),
    ('GHMC', dict(bins=30, momentum=0.75)),
    ('GHMR', dict(mu=0.02, bins=10, momentum=0.7, loss_weight=10.0)),
])
def test_builtin_kernels_match_eager_without_recompiling(kind, kwargs):
    """The shipped settings: the modules' own compiled kernels (the
    default) give eager's results, and a new number of anchors reuses the
    compiled code (dynamic shapes)."""
    from torch._dynamo.utils import counters
    base = dict(type=f'imbalance_plugin.{kind}', **kwargs)
    fast, eager = MODELS.build(base), MODELS.build(dict(base, compiled=False))
    avg = 11.0 if kind == 'FocalLoss' else None
    for step, n in enumerate([500, 333, 1000, 64]):
        batch = _inputs(kind, n, step)
        if kind == 'FocalLoss':  # sigmoid: one-hot and class-index targets
            batch = (batch[0], F.one_hot(batch[1], 8)[:, :7], batch[2]) \
                if step == 1 else batch
        loss, grad = _step(fast, batch, avg)
        want_loss, want_grad = _step(eager, batch, avg)
        torch.testing.assert_close(loss, want_loss, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(grad, want_grad, rtol=1e-5, atol=1e-8)
        if step == 0:
            frames = counters['frames']['ok']
    # one-hot targets are one more graph for focal; sizes never are
    assert counters['frames']['ok'] - frames <= (1 if kind == 'FocalLoss'
                                                 else 0)


@pytest.mark.parametrize('task', ['GHMC', 'GHMR'])
def test_distributed_path_kernels_match_eager(task):
    """Under DDP the two passes are separate compiled graphs with the counts
    all-reduced between them; in one process (no all-reduce happens) they
    must give the single-graph results."""
    from imbalance_plugin.functional import ghm
    if task == 'GHMC':
        pred, target, weight = _inputs('GHMC', 400, 5)
        weight = weight[:, None]  # as ghmc_loss broadcasts it
        kernels = (ghm._ghmc_slots_kernel, ghm._ghmc_weighted_kernel)
        local, option = ghm._ghmc_local, True
    else:
        pred, target, weight = _inputs('GHMR', 400, 5)
        kernels = (ghm._ghmr_slots_kernel, ghm._ghmr_weighted_kernel)
        local, option = ghm._ghmr_local, 0.02
    acc = torch.rand(10) * 50
    for n in (400, 250):
        x = pred[:n].clone().requires_grad_()
        loss, new_acc = ghm._distributed(*kernels, x, target[:n], weight[:n],
                                         acc, 0.75, option, 'mean',
                                         compiled=True)
        grad, = torch.autograd.grad(loss, x)
        x_ref = pred[:n].clone().requires_grad_()
        ref, ref_acc = local(x_ref, target[:n], weight[:n], acc, 0.75, option,
                             'mean', compiled=False)
        ref_grad, = torch.autograd.grad(ref, x_ref)
        torch.testing.assert_close(loss, ref, rtol=1e-5, atol=0)
        torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-9)
        torch.testing.assert_close(new_acc, ref_acc, rtol=1e-6, atol=0)
