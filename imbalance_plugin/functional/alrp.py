r"""aLRP Loss (Oksuz, Cam, Akbas, Kalkan, "A Ranking-based, Balanced Loss
Function Unifying Classification and Localisation in Object Detection",
NeurIPS 2020, arXiv 2009.13592).

The average over the positives of the Localisation-Recall-Precision error
of the ranking up to each positive. Each positive :math:`i` has a
localisation error :math:`\ell_{loc}(i)` (the paper's
:math:`(1 - \mathrm{IoU}(i)) / (1 - \tau)`; its configs use the GIoU loss
:math:`1 - \mathrm{GIoU}`, which is :math:`(1 - \mathrm{GIoU}) / 2` over
:math:`1 - \tau`, :math:`\tau = 0.5`). With :math:`H` and :math:`x_{ij} =
s_j - s_i` as in :mod:`.ranking`:

.. math::
    \mathrm{rank}^+(i) = 1 + \sum_{k \in \mathcal{P}, k \ne i} H(x_{ik}),
    \quad N_{FP}(i) = \sum_{j \in \mathcal{N}} H(x_{ij}),\quad
    \mathrm{rank}(i) = \mathrm{rank}^+(i) + N_{FP}(i)

    \mathcal{E}_{loc}(i) = \ell_{loc}(i) + \sum_{k \in \mathcal{P},
    k \ne i} H(x_{ik})\,\ell_{loc}(k),\qquad
    L_{aLRP} = \frac{1}{|\mathcal{P}|} \sum_{i \in \mathcal{P}}
    \frac{N_{FP}(i) + \mathcal{E}_{loc}(i)}{\mathrm{rank}(i)}
    = L_{cls} + L_{loc}

with the classification component :math:`L_{cls} = \frac{1}{|\mathcal{P}|}
\sum_i N_{FP}(i) / \mathrm{rank}(i)` and the localisation component
:math:`L_{loc} = \frac{1}{|\mathcal{P}|} \sum_i \mathcal{E}_{loc}(i) /
\mathrm{rank}(i)`.

**Localisation.** :math:`L_{loc}` is differentiated with respect to the
:math:`\ell_{loc}` (and through them the boxes) with the ranking held
fixed (:math:`\mathrm{rank}` and :math:`H` constants): each
:math:`\ell_{loc}(k)` weighs :math:`\frac{1}{|\mathcal{P}|}
(1 / \mathrm{rank}(k) + \sum_{i \ne k} H(x_{ik}) / \mathrm{rank}(i))`, so a
positive ranked high, above many others, is pushed hardest to localise
well. The smoothed :math:`H` is the paper's here too; the authors' code
sums the localisation errors in the order of the logits (a unit step)
instead, which differs only for positives within :math:`\delta` of each
other.

**Classification.** The error-driven update with the primary terms
(:math:`j \in \mathcal{N}`)

.. math::
    L_{ij} = \frac{N_{FP}(i) + \mathcal{E}_{loc}(i) - \ell_{loc}(i)}
        {\mathrm{rank}(i)} \frac{H(x_{ij})}{N_{FP}(i)}

that is, the negatives ranked above :math:`i` take the blame for its false
positives and for the localisation errors of the positives above it, not
for its own :math:`\ell_{loc}(i)`, which no ranking changes (the target
error of :math:`i`, ranked first, is :math:`\ell_{loc}(i) /
\mathrm{rank}(i)`). :math:`\partial L / \partial s_i = \frac{1}
{|\mathcal{P}|} (\sum_j L_{ji} - \sum_j L_{ij})`: positives and negatives
balance. A positive with :math:`N_{FP}(i) \le 10^{-5}`
(:data:`MIN_FALSE_POSITIVES`, the authors' guard) spreads nothing: its pmf
:math:`H(x_{ij}) / N_{FP}(i)` would divide by almost nothing.

**Self-balance** (the paper's SB): the localisation component is weighted
by :math:`(\bar L_{cls} + \bar L_{loc}) / \bar L_{loc}`, the averages of
the previous epoch, starting from 50; that state lives in the loss module
(:class:`imbalance_plugin.losses.aLRPLoss`).

A chunk of the positive-positive terms holds one float matrix of
``chunk_size`` x :math:`P`.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from .ranking import (
    Ranking,
    check_ranking_settings,
    flatten_targets,
    wants_update,
    with_update,
)

#: Positives with fewer (smoothed) false positives spread no update.
MIN_FALSE_POSITIVES = 1e-5


class ALRPComponents(NamedTuple):
    """The two components of aLRP Loss and the number of positives."""
    loss_cls: Tensor
    loss_loc: Tensor
    num_positives: int


def alrp_loss(pred: Tensor,
              target: Tensor,
              loc_error: Tensor,
              weight: Optional[Tensor] = None,
              delta: float = 1.0,
              reduction: str = 'mean',
              chunk_size: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    r"""The two components of aLRP Loss, ``(loss_cls, loss_loc)``.

    Args:
        pred: (N, C) logits of N anchors (all images concatenated) and C
            foreground classes, or flattened (M,).
        target: class indices (N,) in [0, C] (C the background; any other
            value raises), or a tensor of pred's shape, > 0 at the
            positives.
        loc_error: (N,) the localisation error :math:`\ell_{loc}` of each
            anchor's box ((M,) for a flat pred), e.g. :math:`1 -
            \mathrm{GIoU}`; read at the positive anchors only (any value,
            e.g. 0, elsewhere). It carries the gradient of ``loss_loc``.
        weight: None, per anchor (N,) or per logit (pred's shape); logits
            with weight <= 0 are ignored.
        delta: :math:`\delta` of the smoothed step, in (0, 1] (paper: 1).
        reduction: 'mean' over the positives (the paper's) or 'sum'.
        chunk_size: positives per chunk of the positive-positive terms;
            None: :math:`\lfloor 2^{22} / P \rfloor`.

    Returns:
        ``loss_cls``, 0-d, whose gradient with respect to pred is the
        update, and ``loss_loc``, 0-d, differentiable in ``loc_error``
        (not in pred); both in the compute dtype, 0 without positives.
    """
    return alrp_components(pred, target, loc_error, weight, delta,
                           reduction, chunk_size)[:2]


def alrp_components(pred: Tensor,
                    target: Tensor,
                    loc_error: Tensor,
                    weight: Optional[Tensor] = None,
                    delta: float = 1.0,
                    reduction: str = 'mean',
                    chunk_size: Optional[int] = None) -> ALRPComponents:
    """:func:`alrp_loss` with the number of positives (a host int, known
    without another sync), which the self-balance statistics need."""
    delta, reduction, chunk_size = check_ranking_settings(
        delta, reduction, chunk_size)
    anchors = pred.shape[0]
    if loc_error.shape != (anchors,):
        raise ValueError(f'loc_error must have shape ({anchors},), one per '
                         f'row of pred {tuple(pred.shape)}, got '
                         f'{tuple(loc_error.shape)}')
    ranking = Ranking(flatten_targets(pred, target, weight, quality=False),
                      delta)
    p = ranking.num_positives
    if not p:
        zero = pred.new_zeros((), dtype=ranking.dtype)
        return ALRPComponents(with_update(pred, zero),
                              (loc_error.to(ranking.dtype) * 0).sum(), 0)
    positive_loc = loc_error[ranking.rows].to(ranking.dtype)
    loc = positive_loc.detach()
    false_positives = ranking.false_positives()
    rank = torch.empty_like(false_positives)
    above = torch.empty_like(false_positives)
    column = torch.zeros_like(false_positives)
    for rows in ranking.chunks(chunk_size):
        h = ranking.steps(rows)
        rank[rows] = h.sum(1) + 0.5 + false_positives[rows]
        above[rows] = h @ loc - 0.5 * loc[rows]  # the sum over k != i
        column += (1 / rank[rows]) @ h
        del h
    normaliser = p if reduction == 'mean' else 1
    loss_cls = (false_positives / rank).sum() / normaliser
    # sum_i H(x_ik) / rank(i) over i != k, plus 1 / rank(k)
    loc_weight = (column + 0.5 / rank) / normaliser
    loss_loc = (loc_weight * positive_loc).sum()
    if not wants_update(pred):
        return ALRPComponents(loss_cls, loss_loc, p)
    spreads = false_positives > MIN_FALSE_POSITIVES
    primary = torch.where(spreads, (false_positives + above) / rank, 0)
    coefficient = torch.where(
        spreads, primary / false_positives.clamp_min(MIN_FALSE_POSITIVES), 0)
    loss_cls = with_update(pred, loss_cls, ranking, -primary / normaliser,
                           ranking.negative_sums(coefficient / normaliser))
    return ALRPComponents(loss_cls, loss_loc, p)
