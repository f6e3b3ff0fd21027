"""Rank & Sort, AP and aLRP Loss against the brute-force references of
ranking_reference.py (a loop over the positives, from the papers'
equations): values and updates on random inputs, ties, edge cases and
several images; the papers' balance of the updates; chunking (results and
peak memory); half precision; the one host read."""
import math

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from imbalance_plugin.functional import ranking
from imbalance_plugin.functional.alrp import alrp_loss
from imbalance_plugin.functional.ap_loss import ap_loss
from imbalance_plugin.functional.rank_sort import rank_sort_loss
from tests.functional import ranking_reference as reference


def _case(name, gen, dtype=torch.float64):
    """(pred (N, C), labels (N,), scores (N,), weight or None, loc (N,))."""
    n, c, weight = 40, 3, None
    if name == 'random':
        pred = torch.randn(n, c, generator=gen) * 2
        labels = torch.randint(0, c + 2, (n,), generator=gen).clamp(max=c)
    elif name == 'ties':
        # a coarse grid: tied logits, and differences of exactly +-delta
        pred = torch.randint(-4, 5, (n, c), generator=gen) * 0.25
        labels = torch.randint(0, c + 2, (n,), generator=gen).clamp(max=c)
    elif name == 'one_positive':
        pred = torch.randn(n, c, generator=gen)
        labels = torch.full((n,), c)
        labels[7] = 1
    elif name == 'all_positive':
        n, c = 12, 1
        pred = torch.randn(n, c, generator=gen)
        labels = torch.zeros(n, dtype=torch.long)
    elif name == 'separated':
        # every positive more than delta above every negative
        labels = torch.randint(0, c + 2, (n,), generator=gen).clamp(max=c)
        pred = torch.randn(n, c, generator=gen) - 6
        rows = (labels < c).nonzero().flatten()
        pred[rows, labels[rows]] = torch.randn(len(rows), generator=gen) + 3
    elif name == 'weights':
        pred = torch.randn(n, c, generator=gen) * 2
        labels = torch.randint(0, c + 2, (n,), generator=gen).clamp(max=c)
        weight = (torch.rand(n, generator=gen) > 0.3).to(dtype)
    elif name == 'wide':
        pred = torch.randn(n, c, generator=gen) * 10
        labels = torch.randint(0, c + 2, (n,), generator=gen).clamp(max=c)
    else:
        raise KeyError(name)
    scores = torch.rand(n, generator=gen) * 0.9 + 0.05
    if name == 'ties':
        scores = torch.randint(1, 4, (n,), generator=gen) * 0.25
    loc = torch.rand(n, generator=gen) * 2
    return (pred.to(dtype).requires_grad_(), labels, scores.to(dtype),
            weight, loc.to(dtype).requires_grad_())


CASES = ['random', 'ties', 'one_positive', 'all_positive', 'separated',
         'weights', 'wide']


@pytest.fixture(params=['search', 'grid'])
def binning(request, monkeypatch):
    """Both ways of binning the logits: one searchsorted, and the CPU grid
    (taken by itself only for many logits per breakpoint; forced here)."""
    if request.param == 'grid':
        monkeypatch.setattr(ranking, 'VALUES_PER_CELL', 0)
    return request.param


def _flat(pred, labels, weight):
    """The reference's view: logits, positives and valid logits (M,)."""
    n, c = pred.shape
    positive = (labels[:, None] == torch.arange(c)).reshape(-1)
    valid = torch.ones(n * c, dtype=torch.bool)
    if weight is not None:
        valid = (weight[:, None] > 0).expand(n, c).reshape(-1)
    return pred.detach().reshape(-1), positive, valid


def _per_logit(values, c):
    return values[:, None].expand(-1, c).reshape(-1)


def _grad(loss, x):
    return torch.autograd.grad(loss, x, retain_graph=True)[0]


def _close(a, b, dtype=torch.float64):
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else \
        dict(rtol=2e-5, atol=2e-6)
    torch.testing.assert_close(a, b.to(a.dtype), **tol)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('delta', [0.5, 0.25, 1.0])
@pytest.mark.parametrize('name', CASES)
def test_rank_sort_matches_reference(name, delta, dtype, binning):
    gen = torch.Generator().manual_seed(CASES.index(name))
    pred, labels, scores, weight, _ = _case(name, gen, dtype)
    loss = rank_sort_loss(pred, (labels, scores), weight, delta=delta,
                          chunk_size=7)
    s, positive, valid = _flat(pred, labels, weight)
    y = _per_logit(scores, pred.shape[1])
    want, update = reference.rank_sort(s.double(), positive, valid,
                                       y.double(), delta)
    _close(loss, want, dtype)
    _close(_grad(loss, pred).reshape(-1), update, dtype)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('delta', [1.0, 0.5])
@pytest.mark.parametrize('name', CASES)
def test_ap_loss_matches_reference(name, delta, dtype, binning):
    gen = torch.Generator().manual_seed(10 + CASES.index(name))
    pred, labels, _, weight, _ = _case(name, gen, dtype)
    loss = ap_loss(pred, labels, weight, delta=delta, chunk_size=7)
    s, positive, valid = _flat(pred, labels, weight)
    want, update = reference.ap(s.double(), positive, valid, delta)
    _close(loss, want, dtype)
    _close(_grad(loss, pred).reshape(-1), update, dtype)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('delta', [1.0, 0.5])
@pytest.mark.parametrize('name', CASES)
def test_alrp_loss_matches_reference(name, delta, dtype, binning):
    gen = torch.Generator().manual_seed(20 + CASES.index(name))
    pred, labels, _, weight, loc = _case(name, gen, dtype)
    loss_cls, loss_loc = alrp_loss(pred, labels, loc, weight, delta=delta,
                                   chunk_size=7)
    s, positive, valid = _flat(pred, labels, weight)
    want_cls, want_loc, update = reference.alrp(
        s.double(), positive, valid, _per_logit(loc, pred.shape[1]).double(),
        delta)
    _close(loss_cls, want_cls, dtype)
    _close(loss_loc, want_loc, dtype)
    _close(_grad(loss_cls, pred).reshape(-1), update, dtype)
    _close(_grad(loss_loc, loc), _grad(want_loc, loc), dtype)
    # the localisation component does not reach the logits
    assert _grad(loss_loc + 0 * pred.sum(), pred).abs().max() == 0


def _updates(loss_fn, name, seed):
    gen = torch.Generator().manual_seed(seed)
    pred, labels, scores, weight, loc = _case(name, gen)
    loss = loss_fn(pred, labels, scores, loc)
    update = _grad(loss, pred)
    positive = torch.zeros_like(update, dtype=torch.bool)
    rows = (labels < pred.shape[1]).nonzero().flatten()
    positive[rows, labels[rows]] = True
    return update[positive], update[~positive]


LOSSES = {
    'rank_sort': lambda p, labels, y, loc: rank_sort_loss(p, (labels, y)),
    'ap': lambda p, labels, y, loc: ap_loss(p, labels),
    'alrp': lambda p, labels, y, loc: alrp_loss(p, labels, loc)[0],
}


@pytest.mark.parametrize('loss', sorted(LOSSES))
@pytest.mark.parametrize('name', ['random', 'ties', 'wide'])
def test_updates_of_positives_and_negatives_balance(loss, name):
    """The papers' balance (aLRP Theorem 2; RS Loss): the updates of the
    positives and of the negatives sum to the same total error with
    opposite signs; the sorting updates cancel among the positives."""
    positives, negatives = _updates(LOSSES[loss], name, 3)
    assert negatives.min() >= 0 and negatives.sum() > 1e-3
    torch.testing.assert_close(positives.sum(), -negatives.sum(),
                               rtol=1e-12, atol=1e-12)


def test_rank_sort_sorting_updates_cancel_without_negatives():
    """All positive: no ranking error, the sorting updates alone, which
    move the positives among themselves and sum to 0."""
    gen = torch.Generator().manual_seed(4)
    pred, labels, scores, _, _ = _case('all_positive', gen)
    loss = rank_sort_loss(pred, (labels, scores))
    update = _grad(loss, pred)
    assert loss > 0 and update.abs().max() > 1e-3
    torch.testing.assert_close(update.sum(), torch.zeros((),
                               dtype=update.dtype), atol=1e-12, rtol=0)


@pytest.mark.parametrize('loss', sorted(LOSSES))
def test_chunk_sizes_give_the_same_result(loss):
    gen = torch.Generator().manual_seed(5)
    pred = torch.randn(200, 4, generator=gen, dtype=torch.float64)
    pred.requires_grad_()
    labels = torch.randint(0, 8, (200,), generator=gen).clamp(max=4)
    scores = torch.rand(200, generator=gen, dtype=torch.float64)
    loc = torch.rand(200, generator=gen, dtype=torch.float64)
    p = int((labels < 4).sum())
    calls = {
        'rank_sort': lambda k: rank_sort_loss(pred, (labels, scores),
                                              chunk_size=k),
        'ap': lambda k: ap_loss(pred, labels, chunk_size=k),
        'alrp': lambda k: alrp_loss(pred, labels, loc, chunk_size=k)[0],
    }[loss]
    results = [(value, _grad(value, pred))
               for value in (calls(k) for k in (1, 7, p + 5, None))]
    for value, update in results[1:]:
        torch.testing.assert_close(value, results[0][0], rtol=0, atol=1e-14)
        torch.testing.assert_close(update, results[0][1], rtol=0,
                                   atol=1e-14)


def _peak_bytes(fn):
    """Peak of the bytes allocated during ``fn()``: the profiler's
    allocation and free records (``[memory]``, one per call of the CPU
    allocator), summed in the order they happened."""
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        fn()
    records = [e for e in prof.profiler.kineto_results.events()
               if e.name() == '[memory]']
    # torch 2.1 stamps the records in microseconds, newer ones in ns
    stamp = 'start_ns' if hasattr(records[0], 'start_ns') else 'start_us'
    live = peak = 0
    for record in sorted(records, key=lambda e: getattr(e, stamp)()):
        live += record.nbytes()
        peak = max(peak, live)
    return peak


# float32 matrices and bool matrices of chunk_size x P a chunk holds
CHUNK_MATRICES = {'rank_sort': (2, 1), 'ap': (1, 0), 'alrp': (1, 0)}


@pytest.mark.parametrize('loss', sorted(CHUNK_MATRICES))
def test_peak_memory_is_bounded_by_the_chunk(loss):
    """Few anchors and many positives, so that the chunk's matrices are
    what the peak is made of: the peak grows with the chunk, by at most
    the stated chunk_size x P matrices, and the whole P x P matrix shows
    when the chunk is every positive (the measurement sees it)."""
    gen = torch.Generator().manual_seed(6)
    n, c, p = 1000, 2, 800
    pred = torch.randn(n, c, generator=gen).requires_grad_()
    labels = torch.full((n,), c)
    labels[:p] = torch.randint(0, c, (p,), generator=gen)
    scores = torch.rand(n, generator=gen)
    loc = torch.rand(n, generator=gen)
    call = {
        'rank_sort': lambda k: rank_sort_loss(pred, (labels, scores),
                                              chunk_size=k),
        'ap': lambda k: ap_loss(pred, labels, chunk_size=k),
        'alrp': lambda k: alrp_loss(pred, labels, loc, chunk_size=k)[0],
    }[loss]
    floats, bools = CHUNK_MATRICES[loss]

    def bound(k):
        return (4 * floats + bools) * k * p

    base = _peak_bytes(lambda: _grad(call(8), pred))
    for k in (40, p):
        extra = _peak_bytes(lambda: _grad(call(k), pred)) - base
        assert extra <= bound(k), (k, extra, bound(k))
    assert extra >= 0.8 * 4 * p * p


def test_no_positives_give_zero_loss_and_zero_updates():
    gen = torch.Generator().manual_seed(7)
    pred = (torch.randn(30, 4, generator=gen) * 100).requires_grad_()
    background = torch.full((30,), 4)
    scores = torch.rand(30, generator=gen)
    loc = torch.rand(30, generator=gen).requires_grad_()
    ignored = torch.zeros(30)
    labels = torch.randint(0, 4, (30,), generator=gen)
    for labels_, weight in ((background, None), (labels, ignored)):
        losses = [rank_sort_loss(pred, (labels_, scores), weight),
                  ap_loss(pred, labels_, weight),
                  *alrp_loss(pred, labels_, loc, weight)]
        for loss in losses:
            assert loss.item() == 0.0
            grads = torch.autograd.grad(loss, (pred, loc),
                                        retain_graph=True,
                                        allow_unused=True)
            for g in grads:
                assert g is None or (g == 0).all()
    empty = torch.zeros(0, 4, requires_grad=True)
    none = torch.zeros(0, dtype=torch.long)
    loss = rank_sort_loss(empty, (none, torch.zeros(0)))
    assert loss.item() == 0 and _grad(loss, empty).shape == (0, 4)


def test_target_forms_agree():
    """Class indices, one-hot (times IoU for Rank & Sort) and the
    flattened form give the same loss and update."""
    gen = torch.Generator().manual_seed(8)
    pred, labels, scores, _, loc = _case('random', gen)
    c = pred.shape[1]
    one_hot = (labels[:, None] == torch.arange(c)).double()
    flat = pred.reshape(-1)
    pairs = [
        (rank_sort_loss(pred, (labels, scores)),
         rank_sort_loss(pred, one_hot * scores[:, None])),
        (rank_sort_loss(pred, (labels, scores)),
         rank_sort_loss(flat, (one_hot * scores[:, None]).reshape(-1))),
        (ap_loss(pred, labels), ap_loss(pred, one_hot)),
        (ap_loss(pred, labels), ap_loss(flat, one_hot.reshape(-1))),
        (alrp_loss(pred, labels, loc)[0], alrp_loss(pred, one_hot, loc)[0]),
        (alrp_loss(pred, labels, loc)[0],
         alrp_loss(flat, one_hot.reshape(-1), _per_logit(loc, c))[0]),
    ]
    for a, b in pairs:
        _close(a, b)
        _close(_grad(a, pred), _grad(b, pred))
    # per-anchor and per-logit weights
    weight = (torch.rand(len(labels), generator=gen) > 0.4).double()
    _close(ap_loss(pred, labels, weight),
           ap_loss(pred, labels, weight[:, None].expand(-1, c)))


def test_the_batch_is_ranked_as_one():
    """Several images concatenated are ranked together (AP Loss's
    minibatch training): the loss of the concatenation is the reference's
    on it, not the mean of the images' losses."""
    gen = torch.Generator().manual_seed(9)
    images = [_case('random', gen) for _ in range(3)]
    pred = torch.cat([image[0].detach() for image in images])
    pred.requires_grad_()
    labels = torch.cat([image[1] for image in images])
    scores = torch.cat([image[2] for image in images])
    loss = rank_sort_loss(pred, (labels, scores))
    s, positive, valid = _flat(pred, labels, None)
    want, update = reference.rank_sort(s, positive, valid,
                                       _per_logit(scores, pred.shape[1]))
    _close(loss, want)
    _close(_grad(loss, pred).reshape(-1), update)
    separate = torch.stack([rank_sort_loss(p.detach(), (labels_, y))
                            for p, labels_, y, _, _ in images]).mean()
    assert abs(separate - loss) > 1e-3


def test_pruned_negatives_get_no_update_and_change_nothing():
    """Negatives below the lowest positive minus delta: zero update, and
    adding them leaves the loss and every other update as they were."""
    gen = torch.Generator().manual_seed(11)
    pred, labels, scores, _, loc = _case('random', gen)
    low = torch.full((25, pred.shape[1]), -50.0, dtype=pred.dtype)
    more = torch.cat((pred.detach(), low)).requires_grad_()
    more_labels = torch.cat((labels, torch.full((25,), pred.shape[1])))
    more_scores = torch.cat((scores, torch.rand(25, dtype=scores.dtype)))
    for a, b in [(rank_sort_loss(pred, (labels, scores)),
                  rank_sort_loss(more, (more_labels, more_scores))),
                 (ap_loss(pred, labels), ap_loss(more, more_labels))]:
        _close(a, b)
        update = _grad(b, more)
        assert (update[len(labels):] == 0).all()
        _close(update[:len(labels)], _grad(a, pred))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_computes_in_float32(dtype):
    gen = torch.Generator().manual_seed(12)
    pred, labels, scores, _, loc = _case('random', gen, torch.float32)
    low = pred.detach().to(dtype).requires_grad_()
    upcast = low.detach().float().requires_grad_()
    for call in (lambda p: rank_sort_loss(p, (labels, scores.to(dtype))),
                 lambda p: ap_loss(p, labels),
                 lambda p: alrp_loss(p, labels, loc.detach())[0]):
        value = call(low)
        assert value.dtype == torch.float32
        update = _grad(value, low)
        assert update.dtype == dtype and torch.isfinite(update).all()
        want = call(upcast)
        torch.testing.assert_close(value, want)
        torch.testing.assert_close(update, _grad(want, upcast).to(dtype))


def test_extreme_logits_stay_finite():
    pred = torch.tensor([[1e4, -1e4], [-1e4, 1e4], [0.0, 3e4],
                         [-3e4, 1.0]], requires_grad=True)
    labels = torch.tensor([0, 2, 1, 2])
    scores = torch.tensor([0.9, 0.0, 0.3, 0.0])
    loc = torch.ones(4)
    for loss in (rank_sort_loss(pred, (labels, scores)),
                 ap_loss(pred, labels), alrp_loss(pred, labels, loc)[0]):
        assert torch.isfinite(loss)
        assert torch.isfinite(_grad(loss, pred)).all()


def test_one_host_read_per_call(monkeypatch):
    """The numbers of positives and of relevant negatives are the only
    values read back (one tolist); no .item(), no tensor truth value."""
    gen = torch.Generator().manual_seed(13)
    pred, labels, scores, _, loc = _case('random', gen)
    reads = []
    real_tolist = torch.Tensor.tolist

    def counted(self):
        reads.append(self.numel())
        return real_tolist(self)

    def refused(self, *args):
        raise AssertionError('host read')

    monkeypatch.setattr(torch.Tensor, 'tolist', counted)
    monkeypatch.setattr(torch.Tensor, 'item', refused)
    monkeypatch.setattr(torch.Tensor, '__bool__', refused)
    for call in (lambda: rank_sort_loss(pred, (labels, scores)),
                 lambda: ap_loss(pred, labels),
                 lambda: alrp_loss(pred, labels, loc)[0]):
        reads.clear()
        torch.autograd.grad(call(), pred)
        assert reads == [2]


def test_no_grad_gives_the_same_value():
    gen = torch.Generator().manual_seed(14)
    pred, labels, scores, _, loc = _case('random', gen)
    for call in (lambda: rank_sort_loss(pred, (labels, scores)),
                 lambda: ap_loss(pred, labels),
                 lambda: alrp_loss(pred, labels, loc)[0]):
        with torch.no_grad():
            value = call()
        assert not value.requires_grad
        assert value == call()


@pytest.mark.parametrize('kwargs,match', [
    (dict(delta=0.0), 'delta'), (dict(delta=1.5), 'delta'),
    (dict(delta=True), 'delta'), (dict(reduction='none'), 'reduction'),
    (dict(chunk_size=0), 'chunk_size'), (dict(chunk_size=2.0), 'chunk_size'),
])
def test_bad_arguments_raise(kwargs, match):
    pred = torch.randn(5, 2)
    labels = torch.tensor([0, 1, 2, 2, 0])
    with pytest.raises(ValueError, match=match):
        ap_loss(pred, labels, **kwargs)
    with pytest.raises(ValueError, match=match):
        rank_sort_loss(pred, (labels, torch.rand(5)), **kwargs)


def test_bad_inputs_raise():
    pred = torch.randn(5, 2)
    labels = torch.tensor([0, 1, 2, 2, 0])
    with pytest.raises(ValueError, match='loc_error'):
        alrp_loss(pred, labels, torch.rand(4))
    with pytest.raises(ValueError, match='shapes differ'):
        ap_loss(pred, labels[:4])
    with pytest.raises(ValueError, match='sorting targets'):
        rank_sort_loss(pred, labels)
    with pytest.raises(ValueError, match='weight'):
        ap_loss(pred, labels, torch.ones(3))
    with pytest.raises(RuntimeError, match=r'\[0, 2\]'):
        ap_loss(pred, torch.tensor([0, 1, 3, 2, 0]))


def test_smoothed_step():
    x = torch.tensor([-2.0, -0.5, -0.25, 0.0, 0.25, 0.5, 2.0])
    torch.testing.assert_close(
        ranking.smoothed_step(x, 0.5),
        torch.tensor([0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]))
    assert ranking.chunk_rows(10, None) == ranking.CHUNK_ELEMENTS // 10
    assert ranking.chunk_rows(10, 3) == 3
    assert math.isclose(reference.step(torch.tensor(0.0), 1.0), 0.5)


def test_selection_without_nonzero_finds_the_same_indices():
    """The scan used off the CPU (no sync) against nonzero."""
    gen = torch.Generator().manual_seed(15)
    for size, density in ((1000, 0.3), (17, 0.0), (5, 1.0), (1, 1.0)):
        mask = torch.rand(size, generator=gen) < density
        count = int(mask.sum())
        torch.testing.assert_close(ranking._indices(mask, count, scan=True),
                                   mask.nonzero().flatten())


def test_grid_bins_equal_searchsorted():
    """The CPU grid's bins against searchsorted: values on the breaks, tied
    breaks, breaks that coincide, values outside the breaks' range and
    infinite ones."""
    gen = torch.Generator().manual_seed(17)
    logits = torch.randint(-8, 9, (50,), generator=gen) * 0.125
    for delta in (0.5, 0.125, 1e-4):
        breaks = torch.cat((logits - delta, logits + delta)).sort().values
        values = torch.cat((
            torch.randn(5000, generator=gen) * 2, breaks,
            breaks.nextafter(torch.tensor(-math.inf)),
            breaks.nextafter(torch.tensor(math.inf)),
            torch.tensor([-math.inf, math.inf, -1e30, 1e30])))
        want = torch.searchsorted(breaks, values, right=True, out_int32=True)
        for dtype in (torch.float32, torch.float64):
            got = ranking._bins(breaks.to(dtype), values.to(dtype), grid=True)
            assert got.dtype == torch.int32
            assert torch.equal(got, want)
    same = torch.full((4,), 1e30)
    values = torch.tensor([-math.inf, 0.0, 1e30, 2e30, math.inf])
    assert torch.equal(ranking._bins(same, values, grid=True),
                       torch.tensor([0, 0, 4, 4, 4], dtype=torch.int32))
    one = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert torch.equal(ranking._bins(one, torch.tensor([-1.0, 0.0, 0.5, 2.0]),
                                     grid=True),
                       torch.tensor([0, 2, 2, 4], dtype=torch.int32))


def test_the_grid_is_taken_for_many_logits_per_breakpoint(monkeypatch):
    """A RetinaNet-like batch (few positives, many logits) bins through the
    grid, and its loss and update equal those of searchsorted."""
    gen = torch.Generator().manual_seed(18)
    pred = (torch.randn(4000, 8, generator=gen) - 2).requires_grad_()
    labels = torch.full((4000,), 8)
    labels[:6] = torch.randint(0, 8, (6,), generator=gen)
    scores = torch.rand(4000, generator=gen)
    calls = []
    real = ranking._bins

    def spy(breaks, values, grid=None):
        calls.append(values.numel() >= ranking.VALUES_PER_CELL
                     * ranking.CELLS_PER_BREAKPOINT * breaks.numel())
        return real(breaks, values, grid)

    monkeypatch.setattr(ranking, '_bins', spy)
    loss = rank_sort_loss(pred, (labels, scores))
    update = _grad(loss, pred)
    assert calls == [True]
    monkeypatch.setattr(ranking, '_bins',
                        lambda b, v, grid=None: real(b, v, grid=False))
    searched = rank_sort_loss(pred, (labels, scores))
    torch.testing.assert_close(loss, searched, rtol=0, atol=0)
    torch.testing.assert_close(update, _grad(searched, pred), rtol=0, atol=0)


def test_portable_bin_sums_and_writes_agree_with_the_cpu_ones():
    """index_add_ / index_put_, used off the CPU (deterministic there),
    against bincount / scatter_."""
    gen = torch.Generator().manual_seed(16)
    bins = torch.randint(0, 9, (500,), generator=gen, dtype=torch.int32)
    values = torch.rand(500, generator=gen, dtype=torch.float64)
    for v in (None, values):
        torch.testing.assert_close(
            ranking._bin_sums(bins, 12, v, portable=True),
            ranking._bin_sums(bins, 12, v, portable=False))
    index = torch.randperm(40, generator=gen)[:25]
    a, b = torch.zeros(40), torch.zeros(40)
    ranking._put(a, index, values[:25].float(), portable=True)
    ranking._put(b, index, values[:25].float(), portable=False)
    torch.testing.assert_close(a, b)
