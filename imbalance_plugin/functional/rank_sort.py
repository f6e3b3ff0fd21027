r"""Rank & Sort Loss (Oksuz, Cam, Akbas, Kalkan, "Rank & Sort Loss for Object
Detection and Instance Segmentation", ICCV 2021, arXiv 2107.11669).

The positives :math:`\mathcal{P}` carry continuous targets :math:`y_i \in
[0, 1]` (the IoU of the predicted box with its object); the loss ranks them
above the negatives :math:`\mathcal{N}` and sorts them among themselves by
:math:`y`. With :math:`H` and :math:`x_{ij} = s_j - s_i` as in
:mod:`.ranking` (the sums include :math:`j = i`, :math:`H(0) = 1/2`):

.. math::
    \mathrm{rank}^+(i) = \sum_{k \in \mathcal{P}} H(x_{ik}),\quad
    N_{FP}(i) = \sum_{j \in \mathcal{N}} H(x_{ij}),\quad
    \mathrm{rank}(i) = \mathrm{rank}^+(i) + N_{FP}(i)

    \ell_R(i) = \frac{N_{FP}(i)}{\mathrm{rank}(i)},\qquad
    \ell_S(i) = \frac{\sum_{k \in \mathcal{P}} H(x_{ik}) (1 - y_k)}
                     {\mathrm{rank}^+(i)}

    \ell_S^*(i) = \frac{\sum_{k \in \mathcal{P}} H(x_{ik})
        [y_k \ge y_i] (1 - y_k)}{\sum_{k \in \mathcal{P}} H(x_{ik})
        [y_k \ge y_i]}

The ranking error :math:`\ell_R` has target 0, the sorting error
:math:`\ell_S` the target :math:`\ell_S^*` (the error of :math:`i` had the
positives above it been sorted by :math:`y`), and

.. math::
    L_{RS} = \frac{1}{|\mathcal{P}|} \sum_{i \in \mathcal{P}}
        \big(\ell_R(i) + \ell_S(i) - \ell_S^*(i)\big)

Primary terms: the ranking error of :math:`i` goes to the negatives above
it, :math:`L_{ij} = \ell_R(i) H(x_{ij}) / N_{FP}(i) = H(x_{ij}) /
\mathrm{rank}(i)` (:math:`j \in \mathcal{N}`); its sorting error to the
positives ranked above it with a lower target,

.. math::
    L_{ik} = \big(\ell_S(i) - \ell_S^*(i)\big)
        \frac{H(x_{ik}) [y_k < y_i]}{\sum_{m \in \mathcal{P}} H(x_{im})
        [y_m < y_i]}\quad (k \in \mathcal{P})

and the update (:class:`.ranking.ErrorDrivenUpdate`) is
:math:`\partial L / \partial s_i = \frac{1}{|\mathcal{P}|} (\sum_j L_{ji} -
\sum_j L_{ij})`: a positive loses its errors and gains the sorting errors
it causes, a negative gains the ranking errors it causes. The updates of
the positives and of the negatives each sum to the total error with
opposite signs (the paper's balance). Where no positive is missorted
(:math:`\sum_m H(x_{im}) [y_m < y_i] = 0`) the sorting error is exactly 0.

The :math:`P \times P` terms are computed ``chunk_size`` rows at a time;
a chunk holds two float matrices and one bool matrix of ``chunk_size`` x
:math:`P`. The negatives enter through :math:`N_{FP}` and the prefix sums of
:mod:`.ranking` (no positive-negative matrix). RS Loss's task balancing,
:math:`L = L_{RS} + \lambda L_{box}` with :math:`\lambda =
L_{RS} / L_{box}` (values, no gradient), belongs to the head that adds the
box loss.
"""
from typing import Optional

import torch
from torch import Tensor

from .ranking import (
    Ranking,
    check_ranking_settings,
    flatten_targets,
    wants_update,
    with_update,
)


def rank_sort_loss(pred: Tensor,
                   target,
                   weight: Optional[Tensor] = None,
                   delta: float = 0.5,
                   reduction: str = 'mean',
                   chunk_size: Optional[int] = None) -> Tensor:
    r"""Rank & Sort Loss of a batch, with the error-driven update as its
    gradient.

    Args:
        pred: (N, C) logits of N anchors (all images of the batch
            concatenated) and C foreground classes, or flattened (M,).
        target: a ``(labels, scores)`` pair, class indices (N,) in [0, C]
            (C the background; any other value raises) and the sorting
            target of each anchor (N,), its IoU; or a tensor of pred's
            shape, > 0 at the positives, whose values are the targets.
        weight: None, per anchor (N,) or per logit (pred's shape); logits
            with weight <= 0 are ignored.
        delta: :math:`\delta` of the smoothed step, in (0, 1] (paper: 0.5).
        reduction: 'mean' over the positives (the paper's) or 'sum'.
        chunk_size: positives per chunk of the positive-positive terms;
            None: :math:`\lfloor 2^{22} / P \rfloor`.

    Returns:
        The loss, a 0-d tensor in the compute dtype (float32 for half
        inputs); 0 without positives. Its gradient with respect to pred is
        the update, in pred's dtype.
    """
    delta, reduction, chunk_size = check_ranking_settings(
        delta, reduction, chunk_size)
    ranking = Ranking(flatten_targets(pred, target, weight, quality=True),
                      delta)
    p = ranking.num_positives
    if not p:
        return with_update(pred, pred.new_zeros((), dtype=ranking.dtype))
    need = wants_update(pred)
    y = ranking.quality
    gap = 1 - y
    false_positives = ranking.false_positives()
    ranking_error = torch.empty_like(false_positives)
    sorting_error = torch.empty_like(false_positives)
    inverse_rank = torch.empty_like(false_positives)
    sorting_update = torch.zeros_like(false_positives)
    for rows in ranking.chunks(chunk_size):
        h = ranking.steps(rows)
        rank_pos = h.sum(1)
        current = (h @ gap) / rank_pos
        below = y[None, :] < y[rows, None]
        h_below = torch.where(below, h, 0)
        missorted = h_below.sum(1)
        h.sub_(h_below)  # now H(x_ik) [y_k >= y_i], exactly
        error = current - (h @ gap) / h.sum(1)
        rank = rank_pos + false_positives[rows]
        ranking_error[rows] = false_positives[rows] / rank
        sorting_error[rows] = error
        if need:
            inverse_rank[rows] = 1 / rank
            spread = missorted > 0
            sorting_update[rows] -= torch.where(spread, error, 0)
            sorting_update += torch.where(
                spread, error / missorted.clamp_min(1e-30), 0) @ h_below
        del h, below, h_below
    normaliser = p if reduction == 'mean' else 1
    loss = (ranking_error.sum() + sorting_error.sum()) / normaliser
    if not need:
        return loss
    return with_update(pred, loss, ranking,
                       (sorting_update - ranking_error) / normaliser,
                       ranking.negative_sums(inverse_rank / normaliser))
