r"""What the heads trained by Rank & Sort Loss share (RS-ATSS, RS-R-CNN's
RPN and RoI heads; Oksuz et al., ICCV 2021).

Each head flattens its samples of the whole batch to rows (anchors of every
level and image, or the RoIs of every image) and hands them to
:func:`rank_sort_task_losses`:

* the sorting target of a positive is the IoU of its predicted box
  (detached) with its object, 0 elsewhere;
* ``loss_cls`` (Rank & Sort Loss) ranks every valid logit of the rows;
* the box loss of the positives (unreduced, e.g. GIoU) is weighted by each
  positive's classification score, the largest sigmoid over the classes
  (detached), and normalised by the sum of those weights;
* the tuning-free task balance: the box loss is multiplied by
  :math:`\lambda = L_{RS} / L_{box}` (values, no gradient), so that it
  always weighs as much as the ranking loss.

:func:`positive_score_weights` gives those weights to heads that weigh
another loss the same way (RS-Mask R-CNN's mask loss);
:func:`check_rank_sort_head` refuses, when the head is built, the settings
these losses can not work with.
"""
import torch
from mmdet.structures.bbox import bbox_overlaps

from imbalance_plugin.losses import RankSortLoss


def check_rank_sort_head(head, loss_types=(RankSortLoss,)):
    """Raises ValueError naming the key when ``head`` can not be trained by
    :func:`rank_sort_task_losses`: ``loss_cls`` not one of ``loss_types``
    (losses taking ``(labels, IoU)`` targets), ``loss_bbox`` reduced (the
    head weighs each positive), or ``reg_decoded_bbox`` False (the IoU
    targets and the box loss are of decoded boxes).

    Args:
        head: a built mmdet head with ``loss_cls``, ``loss_bbox`` and
            ``reg_decoded_bbox``.
        loss_types: the loss classes ``loss_cls`` may be.
    """
    name = type(head).__name__
    if not isinstance(head.loss_cls, loss_types):
        allowed = ' or '.join(t.__name__ for t in loss_types)
        raise ValueError(f'{name}: loss_cls must take (labels, IoU) sorting '
                         f'targets: imbalance_plugin.{allowed}, got '
                         f'{type(head.loss_cls).__name__}')
    reduction = getattr(head.loss_bbox, 'reduction', None)
    if reduction != 'none':
        raise ValueError(f"{name}: loss_bbox must have reduction='none' (the "
                         'head weighs each positive by its score), got '
                         f'reduction={reduction!r}')
    if head.reg_decoded_bbox is not True:
        raise ValueError(f'{name}: reg_decoded_bbox must be True (the IoU '
                         'sorting targets and the box loss are of decoded '
                         f'boxes), got {head.reg_decoded_bbox!r}')


def positive_score_weights(cls_score, positive):
    r"""The positives' weights of the box (and mask) losses, their
    classification scores :math:`w_i = \max_c \sigma(s_{ic})`, detached.

    Args:
        cls_score: (n, C) logits of all rows of the batch.
        positive: (p,) int64 indices of the positive rows.

    Returns:
        Tensor: (p,) weights in [0, 1], no gradient.
    """
    return cls_score.detach().index_select(0, positive).sigmoid() \
        .max(1).values


def rank_sort_task_losses(loss_cls, loss_bbox, cls_score, labels,
                          label_weights, positive, boxes, targets):
    r"""Rank & Sort Loss of all rows and the balanced, score-weighted box
    loss of the positives.

    .. math::
        y_i = \mathrm{IoU}(\hat b_i, b_i),\quad
        L_{RS} = \mathrm{loss\_cls}(s, (\mathrm{labels}, y)),\quad
        w_i = \max_c \sigma(s_{ic})

        L_{box} = \frac{\sum_{i \in \mathcal{P}} w_i\,
            \mathrm{loss\_bbox}(\hat b_i, b_i)}{\sum_{i \in \mathcal{P}} w_i}
        ,\qquad \text{returned: } L_{RS},\ \frac{L_{RS}}{L_{box}} L_{box}

    with :math:`\hat b_i`, :math:`y_i`, :math:`w_i` and the ratio detached
    where they are targets or weights (the gradient of the box term flows
    through :math:`\mathrm{loss\_bbox}(\hat b_i, b_i)` only).

    Args:
        loss_cls: Rank & Sort Loss (``(labels, scores)`` targets).
        loss_bbox: an unreduced box loss, ``(p, 4), (p, 4) -> (p,)``.
        cls_score: (n, C) logits of all rows of the batch.
        labels: (n,) int64 class of each row, C for background.
        label_weights: (n,) weights; rows with weight <= 0 are not ranked.
        positive: (p,) int64 indices of the positive rows.
        boxes: (p, 4) the positives' predicted boxes (with gradient).
        targets: (p, 4) their objects' boxes.

    Returns:
        tuple[Tensor, Tensor]: :math:`L_{RS}` and the balanced box loss,
        0-d; both 0 without positives.
    """
    ious = bbox_overlaps(boxes.detach(), targets, is_aligned=True)
    sorting = cls_score.new_zeros(labels.numel()).index_put(
        (positive,), ious.to(cls_score.dtype))
    loss_rank = loss_cls(cls_score, (labels, sorting), label_weights)

    weights = positive_score_weights(cls_score, positive)
    per_box = loss_bbox(boxes, targets).reshape(-1)
    loss_box = (weights * per_box).sum() / weights.sum().clamp_min(
        torch.finfo(weights.dtype).eps)
    balance = loss_rank.detach() / loss_box.detach().clamp_min(
        torch.finfo(loss_box.dtype).eps)
    return loss_rank, balance * loss_box
