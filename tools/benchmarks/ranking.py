"""Rank & Sort, AP and aLRP Loss against the per-positive loop and against
sigmoid Focal Loss on the same logits.

One RetinaNet batch: 100,000 anchors x 80 classes, 300 positive anchors
(one positive logit each), the positives' logits N(-1, 1), the IoU targets
uniform in [0.1, 1], the localisation errors (aLRP) uniform in [0, 1.5].
What the kernels' time grows with is R, the number of relevant negatives
(logit above the lowest positive's minus delta), which the negatives'
logits decide; three of them, each row giving its R:

* ``prior``: N(-4.6, 1), RetinaNet's prior bias (the losses suite's): at
  the start of training nearly every negative is relevant;
* ``mid``: N(-5.5, 1);
* ``late``: N(-7, 1), most negatives well below the positives.

Sides:

* ours: the registered loss, forward and backward (``torch.autograd.grad``).
* reference (the "mmdet" column): the per-positive loop the papers'
  authors run, written here from the equations: the negatives pruned the
  same way, then for each positive its errors against every positive and
  every relevant negative and the update it assigns (float32).
* plain: the plugin's sigmoid Focal Loss (gamma 2, alpha 0.25, compiled as
  shipped), forward and backward, on the same logits.

Targets: at least 10x the loop, at most 3x Focal Loss. The peak memory of
the chunks is a test (tests/functional/test_ranking.py), not a row.
"""
import torch

from benchmarks import Case
from imbalance_plugin.losses import APLoss, FocalLoss, RankSortLoss, aLRPLoss

ANCHORS, CLASSES, POSITIVES = 100_000, 80, 300


NEGATIVE_MEANS = dict(prior=-4.6, mid=-5.5, late=-7.0)


def _inputs(device, negative_mean):
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(ANCHORS, CLASSES, generator=g) + negative_mean
    labels = torch.full((ANCHORS,), CLASSES)
    rows = torch.randperm(ANCHORS, generator=g)[:POSITIVES]
    labels[rows] = torch.randint(0, CLASSES, (POSITIVES,), generator=g)
    pred[rows, labels[rows]] = torch.randn(POSITIVES, generator=g) - 1.0
    scores = torch.rand(ANCHORS, generator=g) * 0.9 + 0.1
    loc = torch.rand(ANCHORS, generator=g) * 1.5
    return (pred.to(device).requires_grad_(), labels.to(device),
            scores.to(device), loc.to(device).requires_grad_())


def _flat(pred, labels):
    x = pred.detach().reshape(-1)
    classes = torch.arange(pred.shape[1], device=pred.device)
    positive = (labels[:, None] == classes).reshape(-1)
    return x, positive


def _step(x, delta):
    return ((x / (2 * delta)) + 0.5).clamp(0, 1)


def _pruned(x, positive, delta):
    fg = x[positive]
    negative = ~positive & (x > fg.min() - delta)
    return fg, negative, x[negative]


def _scatter(x, positive, negative, fg_grad, bg_grad):
    grad = torch.zeros_like(x)
    grad[positive] = fg_grad
    grad[negative] = bg_grad
    return grad


def loop_rank_sort(pred, labels, scores, delta=0.5):
    x, positive = _flat(pred, labels)
    y = scores[:, None].expand(pred.shape).reshape(-1)[positive]
    fg, negative, bg = _pruned(x, positive, delta)
    fg_grad, bg_grad = torch.zeros_like(fg), torch.zeros_like(bg)
    loss = 0.0
    for i in range(len(fg)):
        h_pos = _step(fg - fg[i], delta)
        h_neg = _step(bg - fg[i], delta)
        false_positives = h_neg.sum()
        rank_pos = h_pos.sum()
        ranking_error = false_positives / (rank_pos + false_positives)
        current = (h_pos * (1 - y)).sum() / rank_pos
        above = h_pos * (y >= y[i])
        sorting_error = current - (above * (1 - y)).sum() / above.sum()
        loss += ranking_error + sorting_error
        if false_positives > 0:
            fg_grad[i] -= ranking_error
            bg_grad += h_neg * (ranking_error / false_positives)
        missorted = h_pos - above
        if missorted.sum() > 0:
            fg_grad[i] -= sorting_error
            fg_grad += missorted * (sorting_error / missorted.sum())
    p = len(fg)
    return loss / p, _scatter(x, positive, negative, fg_grad / p, bg_grad / p)


def loop_ap(pred, labels, delta=1.0):
    x, positive = _flat(pred, labels)
    fg, negative, bg = _pruned(x, positive, delta)
    fg_grad, bg_grad = torch.zeros_like(fg), torch.zeros_like(bg)
    best = 0.0
    loss = 0.0
    for i in torch.argsort(fg).tolist():  # ascending: interpolation
        h_neg = _step(bg - fg[i], delta)
        rank_pos = _step(fg - fg[i], delta).sum() + 0.5
        false_positives = h_neg.sum()
        precision = rank_pos / (rank_pos + false_positives)
        best = max(best, precision)
        error = 1 - best
        loss += error
        fg_grad[i] = -error
        if false_positives > 0:
            bg_grad += h_neg * (error / false_positives)
    p = len(fg)
    return loss / p, _scatter(x, positive, negative, fg_grad / p, bg_grad / p)


def loop_alrp(pred, labels, loc, delta=1.0):
    x, positive = _flat(pred, labels)
    rows_loc = loc.detach()[:, None].expand(pred.shape).reshape(-1)
    loc_pos = rows_loc[positive]
    fg, negative, bg = _pruned(x, positive, delta)
    fg_grad, bg_grad = torch.zeros_like(fg), torch.zeros_like(bg)
    loss_cls = 0.0
    for i in range(len(fg)):
        h_pos = _step(fg - fg[i], delta)
        h_neg = _step(bg - fg[i], delta)
        false_positives = h_neg.sum()
        rank = h_pos.sum() + 0.5 + false_positives
        above = (h_pos * loc_pos).sum() - 0.5 * loc_pos[i]
        loss_cls += false_positives / rank
        if false_positives > 1e-5:
            primary = (false_positives + above) / rank
            fg_grad[i] = -primary
            bg_grad += h_neg * (primary / false_positives)
    p = len(fg)
    return loss_cls / p, _scatter(x, positive, negative, fg_grad / p,
                                  bg_grad / p)


def _grad_step(loss_fn, pred, *args, **kwargs):
    def run():
        loss = loss_fn(pred, *args, **kwargs)
        if isinstance(loss, tuple):
            loss = loss[0]
        return torch.autograd.grad(loss, pred)
    return run


def _relevant(pred, labels, delta):
    x, positive = _flat(pred, labels)
    return int((~positive & (x > x[positive].min() - delta)).sum())


def cases(device):
    targets = {'min_speedup': 10.0, 'max_vs_plain': 3.0}
    rows = []
    for regime, mean in NEGATIVE_MEANS.items():
        pred, labels, scores, loc = _inputs(device, mean)
        focal = _grad_step(FocalLoss(gamma=2.0, alpha=0.25).to(device),
                           pred, labels, avg_factor=float(POSITIVES))
        losses = [('Rank & Sort Loss', RankSortLoss(), ((labels, scores),),
                   lambda p=pred, t=labels, y=scores: loop_rank_sort(p, t, y),
                   0.5)]
        if regime == 'mid':
            losses += [
                ('AP Loss', APLoss(), (labels,),
                 lambda p=pred, t=labels: loop_ap(p, t), 1.0),
                ('aLRP Loss (cls update)', aLRPLoss(self_balance=False),
                 (labels, loc),
                 lambda p=pred, t=labels, e=loc: loop_alrp(p, t, e), 1.0)]
        for name, module, args, loop, delta in losses:
            relevant = _relevant(pred, labels, delta)
            rows.append(Case(
                name=f'{name}, {regime}',
                setting=f'{ANCHORS}x{CLASSES}, P {POSITIVES}, '
                f'R {relevant / 1e6:.2f}M, delta {delta}',
                ours=_grad_step(module.to(device), pred, *args),
                reference=loop,
                plain=focal, plain_name='sigmoid Focal (ours)',
                targets=targets))
    return rows
