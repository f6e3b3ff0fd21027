"""ISR-P label weights of a head's samples, given the positives' loss.

The positives' predicted deltas are decoded, their IoU with the target ranked
by IoU-HLR and mapped to ``w = (bias + (1 - bias) * lw * (m - r) / m) ** k``
(:func:`~imbalance_plugin.functional.pisa.isr_p_weights`), then rescaled so
the positives' classification loss keeps its sum:

    w_i <- w_i * sum_j L_j * lw_j / sum_j L_j * w_j

with ``L_j`` the unreduced classification loss of positive ``j`` (summed
over classes for a sigmoid loss) and ``lw`` the original label weights.

``L`` is an input. PISARetinaHead and PISARoIHead call their own
``loss_cls`` once more on the positives, without gradient and leaving a
stateful loss's buffers as they are (:func:`positives_loss`); PISASSDHead
takes the positives' rows of the cross-entropy it computes for every anchor.
"""
import torch

from imbalance_plugin.functional.pisa import (
    aligned_box_iou,
    isr_p_weights,
    loss_preserving_weights,
)
from imbalance_plugin.losses.unreduced_loss import unreduced_loss
from imbalance_plugin.structures.box_decoding import class_deltas, decode


def positives_loss(loss_cls, cls_score, labels, pos_inds):
    """The extra call: ``loss_cls`` on the positives, unreduced, no gradient,
    buffers untouched. Shapes (n, C), (n,), (p,) -> (p,) or (p, C)."""
    return unreduced_loss(loss_cls,
                          cls_score.detach().index_select(0, pos_inds),
                          labels.index_select(0, pos_inds))


def gt_groups_of(sampling_results):
    """(p,) batch-unique ground-truth id of each positive, image after image
    (the ground truths of image ``i`` offset by those of the images before
    it)."""
    groups, offset = [], 0
    for result in sampling_results:
        groups.append(result.pos_assigned_gt_inds + offset)
        offset += result.num_gts
    return torch.cat(groups)


def isr_p_label_weights(pos_inds, pos_loss, bbox_pred, priors, labels,
                        label_weights, bbox_targets, gt_groups, bbox_coder,
                        reg_decoded_bbox=False, k=2., bias=0.):
    """Label weights with ISR-P applied to the positives, without gradient.

    Args:
        pos_inds (Tensor): (p,) indices of the positives, ascending.
        pos_loss (Tensor): (p,) or (p, C) unreduced classification loss of
            the positives (only its values are used).
        bbox_pred (Tensor): (n, 4) or (n, 4 * num_classes) deltas.
        priors (Tensor): (n, 4) anchors or RoI boxes.
        labels (Tensor): (n,) labels, ``num_classes`` for background.
        label_weights (Tensor): (n,) classification weights.
        bbox_targets (Tensor): (n, 4) regression targets (deltas, or boxes
            with ``reg_decoded_bbox``).
        gt_groups (Tensor): (p,) batch-unique ground-truth id of each
            positive, in sample order.
        bbox_coder: the head's box coder.

    Returns:
        Tensor: (n,) new label weights (a new tensor).
    """
    with torch.no_grad():
        pos_labels = labels.index_select(0, pos_inds)
        pos_priors = priors.index_select(0, pos_inds)
        deltas = class_deltas(bbox_pred.detach(), pos_inds, pos_labels)
        targets = bbox_targets.index_select(0, pos_inds)
        if reg_decoded_bbox:
            boxes = decode(bbox_coder, pos_priors, deltas)
        else:
            # Predictions and targets decoded in one call (rows are
            # independent).
            boxes, targets = decode(bbox_coder, pos_priors.repeat(2, 1),
                                    torch.cat([deltas, targets])).chunk(2)
        pos_weights = label_weights.index_select(0, pos_inds)
        weights = isr_p_weights(
            aligned_box_iou(boxes, targets), gt_groups, pos_labels,
            pos_weights, k, bias)
        return label_weights.index_put(
            (pos_inds, ),
            loss_preserving_weights(weights, pos_loss.detach(), pos_weights))
