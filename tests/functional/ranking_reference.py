"""Brute-force references of the ranking-based losses, written straight
from the papers' equations: a plain Python loop over the positives, each
computing its errors against every positive and every negative (no
pruning, no sorting, no chunks) and the update it assigns.

Inputs are flat: logits ``s`` (M,), ``positive`` (M,) bool, ``valid`` (M,)
bool (the negatives are the valid non-positives), float64 in the tests.
Each returns ``(loss, update)``, the update being the error-driven
gradient with respect to ``s`` (M,), 0 at the ignored logits.
"""
import torch


def step(x, delta):
    """The smoothed step H of AP Loss."""
    return (x / (2 * delta) + 0.5).clamp(0, 1)


def _split(positive, valid):
    pos = (positive & valid).nonzero().flatten()
    neg = (valid & ~positive).nonzero().flatten()
    return pos, neg


def rank_sort(s, positive, valid, y, delta=0.5):
    """Rank & Sort Loss (ICCV 2021, Eqs. of Sec. 3): per positive the
    ranking error N_FP / rank and the sorting error against its target,
    the sums over the positives including i itself (H(0) = 1/2)."""
    pos, neg = _split(positive, valid)
    update = torch.zeros_like(s)
    loss = s.new_zeros(())
    for i in pos.tolist():
        h_pos = step(s[pos] - s[i], delta)
        h_neg = step(s[neg] - s[i], delta)
        false_positives = h_neg.sum()
        rank_pos = h_pos.sum()
        rank = rank_pos + false_positives
        ranking_error = false_positives / rank
        current = (h_pos * (1 - y[pos])).sum() / rank_pos
        sorted_above = y[pos] >= y[i]
        target = ((h_pos * sorted_above * (1 - y[pos])).sum()
                  / (h_pos * sorted_above).sum())
        sorting_error = current - target
        loss = loss + ranking_error + sorting_error
        if false_positives > 0:
            # L_ij = ranking_error * H(x_ij) / N_FP(i), j negative
            update[i] -= ranking_error
            update[neg] += ranking_error * h_neg / false_positives
        missorted = h_pos * ~sorted_above
        if missorted.sum() > 0:
            update[i] -= sorting_error
            update[pos] += sorting_error * missorted / missorted.sum()
    count = max(len(pos), 1)
    return loss / count, update / count


def ap(s, positive, valid, delta=1.0):
    """AP Loss (CVPR 2019) with interpolated precision: rank+ = 1 + the sum
    over the other positives, the interpolated precision the best one over
    the positives scored at most as high."""
    pos, neg = _split(positive, valid)
    precision = {}
    for i in pos.tolist():
        others = pos[pos != i]
        rank_pos = 1 + step(s[others] - s[i], delta).sum()
        false_positives = step(s[neg] - s[i], delta).sum()
        precision[i] = rank_pos / (rank_pos + false_positives)
    update = torch.zeros_like(s)
    loss = s.new_zeros(())
    for i in pos.tolist():
        best = max(precision[k] for k in pos.tolist() if s[k] <= s[i])
        h_neg = step(s[neg] - s[i], delta)
        error = 1 - best
        loss = loss + error
        update[i] -= error
        if h_neg.sum() > 0:
            update[neg] += error * h_neg / h_neg.sum()
    count = max(len(pos), 1)
    return loss / count, update / count


def alrp(s, positive, valid, loc, delta=1.0, min_false_positives=1e-5):
    """aLRP Loss (NeurIPS 2020): ``(loss_cls, loss_loc, update)``.
    ``loc`` (M,) the localisation error of each logit's box (it may require
    a gradient: loss_loc is differentiable in it, with the ranking
    constant)."""
    pos, neg = _split(positive, valid)
    update = torch.zeros_like(s)
    loss_cls = s.new_zeros(())
    loss_loc = loc.new_zeros(())
    for i in pos.tolist():
        others = pos[pos != i]
        h_others = step(s[others] - s[i], delta)
        h_neg = step(s[neg] - s[i], delta)
        false_positives = h_neg.sum()
        rank = 1 + h_others.sum() + false_positives
        above = (h_others * loc[others]).sum()
        loss_cls = loss_cls + false_positives / rank
        loss_loc = loss_loc + (loc[i] + above) / rank
        if false_positives > min_false_positives:
            primary = (false_positives + above.detach()) / rank
            update[i] -= primary
            update[neg] += primary * h_neg / false_positives
    count = max(len(pos), 1)
    return loss_cls / count, loss_loc / count, update / count
