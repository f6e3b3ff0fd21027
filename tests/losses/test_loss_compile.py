"""The losses under torch.compile(fullgraph=True) on CPU match eager.

A graph break (from ``.item()``, a data-dependent Python branch or a host
sync) fails ``fullgraph=True``. Kept few and small: each compilation costs
seconds.
"""
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import imbalance_plugin.losses  # noqa: F401  (registers the modules)
from imbalance_plugin.functional import compile as compile_mod
from imbalance_plugin.utils import torch_compat
from tests.compile_marks import needs_compiled_kernels

pytestmark = needs_compiled_kernels


@pytest.fixture(autouse=True)
def _compilation_on(monkeypatch):
    # the suite may switch compilation off globally; these tests need it
    monkeypatch.setenv(compile_mod.ENV_VAR, '1')
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _inputs(kind, n, seed, softmax=False):
    gen = torch.Generator().manual_seed(seed)
    if kind == 'GHMR':
        pred = torch.randn(n, 4, generator=gen)
        target = pred + torch.randn(n, 4, generator=gen) * 0.1
        weight = (torch.rand(n, 4, generator=gen) > 0.5).float()
        return pred, target, weight
    channels = 7
    pred = torch.randn(n, channels, generator=gen) * 3
    labels = torch.randint(0, 2 * channels, (n,), generator=gen)
    labels = labels.clamp(max=channels - 1 if softmax else channels)
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
        batch = _inputs(kind, n, seed,
                        softmax=kwargs.get('use_sigmoid') is False)
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
def test_distributed_path_kernels_match_eager(task, monkeypatch):
    """Under DDP the counts are all-reduced between the two compiled
    passes; with that all-reduce made the identity, the compiled
    distributed path gives the eager single-process results."""
    from imbalance_plugin.functional import ghm
    pred, target, weight = _inputs(task, 400, 5)
    acc = torch.rand(10) * 50

    def run(n, compiled):
        x = pred[:n].clone().requires_grad_()
        if task == 'GHMC':
            loss, new_acc = ghm.ghmc_loss(x, target[:n], weight[:n], acc,
                                          0.75, compiled=compiled)
        else:
            loss, new_acc = ghm.ghmr_loss(x, target[:n], weight[:n], acc,
                                          0.75, compiled=compiled)
        return loss, torch.autograd.grad(loss, x)[0], new_acc

    for n in (400, 250):
        want = run(n, False)
        with monkeypatch.context() as patch:
            patch.setattr(ghm, 'world_size', lambda: 2)
            patch.setattr(ghm, 'global_counts', lambda c, _: (c, 1))
            got = run(n, True)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-9)


def test_hyper_parameters_do_not_recompile():
    """Nine gammas and alphas, five GHM settings: one compilation each
    (the first), then none."""
    from torch._dynamo.utils import counters
    batch = _inputs('FocalLoss', 300, 0)
    reg = _inputs('GHMR', 300, 0)
    settings = [
        ('FocalLoss', dict(gamma=g, alpha=a), batch)
        for g, a in zip([2.0, 0.0, 0.5, 1.0, 1.5, 2.5, 3.0, 4.0, 0.25],
                        [0.25, 0.5, 0.1, 0.9, 0.3, 0.25, 0.75, 0.2, 0.6])
    ] + [
        ('GHMC', dict(bins=b, momentum=m), batch)
        for b, m in [(30, 0.75), (10, 0.0), (20, 0.5), (25, 0.9), (12, 0.1)]
    ] + [
        ('GHMR', dict(mu=mu, bins=b, momentum=m), reg)
        for mu, b, m in [(0.02, 10, 0.7), (0.1, 5, 0.0), (0.05, 12, 0.3)]
    ]
    frames = None
    for i, (kind, kwargs, data) in enumerate(settings):
        module = MODELS.build(dict(type=f'imbalance_plugin.{kind}',
                                   **kwargs))
        eager = MODELS.build(dict(type=f'imbalance_plugin.{kind}',
                                  compiled=False, **kwargs))
        got, want = _step(module, data), _step(eager, data)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
        if i in (0, 9, 14):  # the first of each kind compiles
            frames = counters['frames']['ok']
        assert counters['frames']['ok'] == frames, settings[i]


def test_compiler_failure_falls_back_to_eager_with_one_warning():
    """What the compiler refuses (here a graph break under fullgraph=True)
    runs eagerly: the same result, one warning naming the switch, and no
    further warning; an error of the input itself is still raised."""
    from imbalance_plugin.functional.compile import kernel

    @kernel
    def breaks(x, y):
        torch._dynamo.graph_break()
        return x * x.sum() + y

    x = torch.randn(8, 3)
    with pytest.warns(RuntimeWarning, match=compile_mod.ENV_VAR) as caught:
        out = breaks(x, x, compiled=True)
    assert len([w for w in caught if 'breaks' in str(w.message)]) == 1
    torch.testing.assert_close(out, breaks(x, x, compiled=False))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        breaks(x, x, compiled=True)
        with pytest.raises(RuntimeError, match='size of tensor'):
            breaks(x, torch.randn(8, 4), compiled=True)


def test_recompile_limit_falls_back_to_eager():
    """More specialisations than torch allows (here a limit of one) give
    one warning and eager results, never the compiler's error."""
    from imbalance_plugin.functional.compile import kernel

    @kernel
    def square_sum(x):
        return (x * x).sum(-1)

    outputs = []
    limit = {torch_compat.RECOMPILE_LIMIT: 1}
    with torch._dynamo.config.patch(**limit), \
            pytest.warns(RuntimeWarning, match=torch_compat.RECOMPILE_LIMIT):
        for shape in [(5, 4), (5, 1), (1, 4), (6, 1)]:
            x = torch.randn(shape)
            outputs.append((square_sum(x, compiled=True), (x * x).sum(-1)))
    for got, want in outputs:
        torch.testing.assert_close(got, want)
