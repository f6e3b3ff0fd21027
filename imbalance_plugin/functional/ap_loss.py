r"""AP Loss (Chen et al., "Towards Accurate One-Stage Object Detection with
AP-Loss", CVPR 2019, arXiv 1904.06373).

Classification as ranking: one minus the interpolated average precision of
the positives :math:`\mathcal{P}` of the whole minibatch (all images, all
classes) against its negatives :math:`\mathcal{N}`. With :math:`H` and
:math:`x_{ij} = s_j - s_i` as in :mod:`.ranking`:

.. math::
    \mathrm{rank}^+(i) = 1 + \sum_{k \in \mathcal{P}, k \ne i} H(x_{ik}),
    \quad N_{FP}(i) = \sum_{j \in \mathcal{N}} H(x_{ij}),\quad
    \mathrm{prec}(i) = \frac{\mathrm{rank}^+(i)}{\mathrm{rank}^+(i) +
    N_{FP}(i)}

    \widetilde{\mathrm{prec}}(i) = \max_{k \in \mathcal{P},\, s_k \le s_i}
    \mathrm{prec}(k),\qquad
    L_{AP} = \frac{1}{|\mathcal{P}|} \sum_{i \in \mathcal{P}}
    \big(1 - \widetilde{\mathrm{prec}}(i)\big)

the interpolated precision :math:`\widetilde{\mathrm{prec}}` being the best
precision at the same or a higher recall (positives ranked at or below
:math:`i`), as in PASCAL VOC's AP.

Error-driven update: the error of :math:`i` goes to the negatives ranked
above it, :math:`L_{ij} = (1 - \widetilde{\mathrm{prec}}(i))\,
H(x_{ij}) / N_{FP}(i)` (without interpolation :math:`H(x_{ij}) /
\mathrm{rank}(i)`), and :math:`\partial L / \partial s_i = \frac{1}
{|\mathcal{P}|} (\sum_j L_{ji} - \sum_j L_{ij})`: a positive gets
:math:`-(1 - \widetilde{\mathrm{prec}}(i)) / |\mathcal{P}|`, a negative
:math:`\sum_i L_{ij} / |\mathcal{P}|`; the two sides balance. Only
:math:`\mathrm{rank}^+` needs the positive-positive terms (one chunk
matrix of ``chunk_size`` x :math:`P`).
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


def ap_loss(pred: Tensor,
            target: Tensor,
            weight: Optional[Tensor] = None,
            delta: float = 1.0,
            reduction: str = 'mean',
            chunk_size: Optional[int] = None) -> Tensor:
    r"""AP Loss of a minibatch, with the error-driven update as its gradient.

    Args:
        pred: (N, C) logits of N anchors (all images concatenated) and C
            foreground classes, or flattened (M,).
        target: class indices (N,) in [0, C] (C the background; any other
            value raises), or a tensor of pred's shape, > 0 at the
            positives (one-hot).
        weight: None, per anchor (N,) or per logit (pred's shape); logits
            with weight <= 0 are ignored.
        delta: :math:`\delta` of the smoothed step, in (0, 1] (paper: 1).
        reduction: 'mean' over the positives (the paper's) or 'sum'.
        chunk_size: positives per chunk of the positive-positive terms;
            None: :math:`\lfloor 2^{22} / P \rfloor`.

    Returns:
        The loss, 0-d, in the compute dtype (float32 for half inputs); 0
        without positives.
    """
    delta, reduction, chunk_size = check_ranking_settings(
        delta, reduction, chunk_size)
    ranking = Ranking(flatten_targets(pred, target, weight, quality=False),
                      delta)
    p = ranking.num_positives
    if not p:
        return with_update(pred, pred.new_zeros((), dtype=ranking.dtype))
    false_positives = ranking.false_positives()
    rank_pos = torch.empty_like(false_positives)
    for rows in ranking.chunks(chunk_size):
        # 1 + the sum without H(0) = 1/2
        rank_pos[rows] = ranking.steps(rows).sum(1) + 0.5
    precision = rank_pos / (rank_pos + false_positives)
    # positives in ascending order of logit: the running maximum is the best
    # precision at or below each one (tied logits have equal precision)
    error = 1 - torch.cummax(precision, 0).values
    normaliser = p if reduction == 'mean' else 1
    loss = error.sum() / normaliser
    if not wants_update(pred):
        return loss
    spread = torch.where(false_positives > 0,
                         error / false_positives.clamp_min(1e-30), 0)
    return with_update(pred, loss, ranking, -error / normaliser,
                       ranking.negative_sums(spread / normaliser))
