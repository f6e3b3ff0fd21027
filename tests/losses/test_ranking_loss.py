"""The registered RankSortLoss, APLoss and aLRPLoss modules: built from
configs, checked at build time, equal to the brute-force references of
tests/functional/ranking_reference.py (times loss_weight), and aLRP's
self-balance against the rule written out here."""
import pytest
import torch
from mmdet.registry import MODELS

import imbalance_plugin.losses  # noqa: F401  (registers the modules)
from tests.functional import ranking_reference as reference


def _build(name, **kwargs):
    return MODELS.build(dict(type=f'imbalance_plugin.{name}', **kwargs))


def _inputs(seed, n=50, c=4):
    gen = torch.Generator().manual_seed(seed)
    pred = (torch.randn(n, c, generator=gen, dtype=torch.float64) * 2)
    labels = torch.randint(0, 2 * c, (n,), generator=gen).clamp(max=c)
    scores = torch.rand(n, generator=gen, dtype=torch.float64)
    loc = torch.rand(n, generator=gen, dtype=torch.float64) * 2
    weight = (torch.rand(n, generator=gen) > 0.2).double()
    return pred.requires_grad_(), labels, scores, loc.requires_grad_(), weight


def _flat(pred, labels, weight):
    n, c = pred.shape
    positive = (labels[:, None] == torch.arange(c)).reshape(-1)
    valid = (weight[:, None] > 0).expand(n, c).reshape(-1)
    return pred.detach().reshape(-1), positive, valid


def _grad(loss, x):
    return torch.autograd.grad(loss, x, retain_graph=True)[0]


def _close(a, b):
    torch.testing.assert_close(a, b.to(a.dtype), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('name', ['RankSortLoss', 'APLoss', 'aLRPLoss'])
def test_registered_under_the_plugin_scope(name):
    loss = _build(name)
    assert type(loss).__module__.startswith('imbalance_plugin.')
    assert loss.use_sigmoid is True  # heads size their classifier by it


def test_rank_sort_module_equals_reference():
    pred, labels, scores, _, weight = _inputs(0)
    loss_module = _build('RankSortLoss', loss_weight=2.5, delta=0.4,
                         chunk_size=9)
    loss = loss_module(pred, (labels, scores), weight, avg_factor=123.0)
    s, positive, valid = _flat(pred, labels, weight)
    want, update = reference.rank_sort(
        s, positive, valid, scores[:, None].expand(-1, 4).reshape(-1), 0.4)
    _close(loss, 2.5 * want)
    _close(_grad(loss, pred).reshape(-1), 2.5 * update)


def test_ap_module_equals_reference():
    pred, labels, _, _, weight = _inputs(1)
    loss = _build('APLoss', loss_weight=0.5)(pred, labels, weight)
    want, update = reference.ap(*_flat(pred, labels, weight), 1.0)
    _close(loss, 0.5 * want)
    _close(_grad(loss, pred).reshape(-1), 0.5 * update)


def test_alrp_module_equals_reference_times_the_self_balance_weight():
    pred, labels, _, loc, weight = _inputs(2)
    module = _build('aLRPLoss', loss_weight=2.0, sb_init=10.0,
                    all_reduce=False)
    loss_cls, loss_loc = module(pred, labels, loc, weight)
    s, positive, valid = _flat(pred, labels, weight)
    rows_loc = loc[:, None].expand(-1, 4).reshape(-1)
    want_cls, want_loc, update = reference.alrp(s, positive, valid,
                                                rows_loc, 1.0)
    _close(loss_cls, 2.0 * want_cls)
    _close(loss_loc, 2.0 * 10.0 * want_loc)
    _close(_grad(loss_cls, pred).reshape(-1), 2.0 * update)
    _close(_grad(loss_loc, loc), 20.0 * _grad(want_loc, loc))


def test_sum_reduction_is_the_mean_times_the_positives():
    pred, labels, scores, loc, _ = _inputs(3)
    p = int((labels < 4).sum())
    for name, args in (('RankSortLoss', ((labels, scores),)),
                       ('APLoss', (labels,)), ('aLRPLoss', (labels, loc))):
        module = _build(name)
        mean = module(pred, *args)
        total = module(pred, *args, reduction_override='sum')
        if name == 'aLRPLoss':
            mean, total = mean[0], total[0]
        _close(total, p * mean)
        _close(_grad(total, pred), p * _grad(mean, pred))
        with pytest.raises(ValueError, match='reduction_override'):
            module(pred, *args, reduction_override='none')


class _SelfBalance:
    """The paper's self-balance written out: the mean of each component
    over a period of calls with positives; the weight their ratio."""

    def __init__(self, init, period):
        self.weight, self.period, self.history = init, period, []

    def step(self, cls_value, loc_value):
        self.history.append((cls_value, loc_value))
        if len(self.history) == self.period:
            mean_cls = sum(c for c, _ in self.history) / self.period
            mean_loc = sum(loc for _, loc in self.history) / self.period
            self.weight = (mean_cls + mean_loc) / mean_loc
            self.history = []
        return self.weight


def test_alrp_self_balance_follows_the_rule_and_survives_a_checkpoint():
    module = _build('aLRPLoss', sb_init=50.0, sb_period=3, all_reduce=False)
    module.train()
    rule = _SelfBalance(50.0, 3)
    for seed in range(8):
        pred, labels, _, loc, _ = _inputs(10 + seed)
        loss_cls, loss_loc = module(pred, labels, loc)
        raw_cls, raw_loc = alrp_components_values(pred, labels, loc)
        weight = rule.step(raw_cls, raw_loc)
        assert module.sb_weight.item() == pytest.approx(weight, rel=1e-6)
        assert loss_loc.item() == pytest.approx(weight * raw_loc, rel=1e-6)
        if seed == 4:
            state = {k: v.clone() for k, v in module.state_dict().items()}
    assert rule.weight != 50.0  # two periods went by
    resumed = _build('aLRPLoss', sb_init=50.0, sb_period=3,
                     all_reduce=False)
    resumed.load_state_dict(state)
    replay = _SelfBalance(50.0, 3)
    for seed in range(5):
        pred, labels, _, loc, _ = _inputs(10 + seed)
        replay.step(*alrp_components_values(pred, labels, loc))
    resumed.train()
    for seed in range(5, 8):
        pred, labels, _, loc, _ = _inputs(10 + seed)
        resumed(pred, labels, loc)
        replay.step(*alrp_components_values(pred, labels, loc))
        assert resumed.sb_weight.item() == pytest.approx(replay.weight,
                                                         rel=1e-6)


def alrp_components_values(pred, labels, loc):
    s, positive, valid = _flat(pred, labels, torch.ones(len(labels)))
    rows_loc = loc[:, None].expand(-1, pred.shape[1]).reshape(-1)
    cls, loc_value, _ = reference.alrp(s, positive, valid, rows_loc, 1.0)
    return cls.item(), loc_value.item()


def test_alrp_self_balance_skips_eval_and_calls_without_positives():
    module = _build('aLRPLoss', sb_period=2, all_reduce=False)
    pred, labels, _, loc, _ = _inputs(4)
    module.eval()
    module(pred, labels, loc)
    assert module.sb_count.item() == 0
    module.train()
    module(pred, torch.full_like(labels, 4), loc)  # no positive
    assert module.sb_count.item() == 0
    module(pred, labels, loc)
    assert module.sb_count.item() == 1
    frozen = _build('aLRPLoss', sb_period=1, self_balance=False)
    frozen.train()
    _, loss_loc = frozen(pred, labels, loc)
    assert frozen.sb_weight.item() == 50.0
    assert loss_loc.item() == pytest.approx(
        50.0 * alrp_components_values(pred, labels, loc)[1], rel=1e-6)


@pytest.mark.parametrize('name,kwargs,key', [
    ('RankSortLoss', dict(delta=0.0), 'delta'),
    ('RankSortLoss', dict(delta=1.01), 'delta'),
    ('RankSortLoss', dict(delta='0.5'), 'delta'),
    ('APLoss', dict(delta=-1.0), 'delta'),
    ('aLRPLoss', dict(delta=2.0), 'delta'),
    ('RankSortLoss', dict(loss_weight=-1.0), 'loss_weight'),
    ('APLoss', dict(reduction='none'), 'reduction'),
    ('aLRPLoss', dict(reduction='avg'), 'reduction'),
    ('RankSortLoss', dict(chunk_size=0), 'chunk_size'),
    ('APLoss', dict(chunk_size=1.5), 'chunk_size'),
    ('RankSortLoss', dict(use_sigmoid=False), 'use_sigmoid'),
    ('aLRPLoss', dict(sb_period=0), 'sb_period'),
    ('aLRPLoss', dict(sb_init=0.0), 'sb_init'),
    ('aLRPLoss', dict(self_balance=1), 'self_balance'),
    ('aLRPLoss', dict(all_reduce='yes'), 'all_reduce'),
])
def test_bad_settings_fail_at_build_time(name, kwargs, key):
    with pytest.raises(ValueError, match=key):
        _build(name, **kwargs)


@pytest.mark.parametrize('name', ['RankSortLoss', 'APLoss', 'aLRPLoss'])
def test_unknown_arguments_are_refused(name):
    with pytest.raises(TypeError, match='gamma'):
        _build(name, gamma=2.0)
