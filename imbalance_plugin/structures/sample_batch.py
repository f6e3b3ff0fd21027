"""A head's samples of a whole batch as rows: its outputs and their targets.

A dense head's rows are the anchors of every image (:func:`dense_batch`:
image after image, all levels, in mmdet's anchor order); an RoI head's are
the sampled RoIs (image after image, each image's positives first, as
``BBoxHead.get_targets`` stacks them). The PISA heads, the OHEM head and the
gradient-density diagnostics compute from a :class:`SampleBatch`; ISR-P and
CARL read theirs from it.
"""
from dataclasses import dataclass
from functools import cached_property
from typing import List, Union

import torch
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

from imbalance_plugin.structures.positives import (
    positive_indices,
    positive_mask,
)


@dataclass(frozen=True)
class SampleBatch:
    """n samples, C = ``num_classes``, C' classification channels (C for a
    sigmoid classifier, C + 1 for a softmax one).

    Attributes:
        cls_score: (n, C') classification outputs.
        bbox_pred: (n, 4) or, class-specific, (n, 4 * C) box deltas.
        priors: (n, 4) anchors or RoI boxes.
        labels: (n,) int64 class, C for background.
        label_weights: (n,) classification weights.
        bbox_targets: (n, 4) regression targets (deltas, or boxes with
            ``reg_decoded_bbox``).
        bbox_weights: (n, 4) regression weights.
        avg_factor: normaliser of the losses (of an RoI head's regression:
            n, as mmdet's ``BBoxHead``).
        sampling_results: mmdet's ``SamplingResult`` of each image.
        num_classes: C.
    """
    cls_score: Tensor
    bbox_pred: Tensor
    priors: Tensor
    labels: Tensor
    label_weights: Tensor
    bbox_targets: Tensor
    bbox_weights: Tensor
    avg_factor: Union[int, float, Tensor]
    sampling_results: List
    num_classes: int

    @property
    def positive(self):
        """(n,) bool, the sample is a positive."""
        return positive_mask(self.labels, self.num_classes)

    @cached_property
    def pos_inds(self):
        """(p,) int64 indices of the positives, ascending (found once)."""
        return positive_indices(self.labels, self.num_classes)


def _rows(levels, width):
    """(N, A_l * width, H_l, W_l) levels to (N * sum_l(H_l * W_l * A_l),
    width) rows, image after image."""
    maps = [level.permute(0, 2, 3, 1).flatten(1, 2) for level in levels]
    if len({m.shape[-1] for m in maps}) > 1:
        # anchors per position differ between levels (SSD)
        maps = [m.reshape(m.shape[0], -1, width) for m in maps]
    # otherwise (N, H_l * W_l, A * width) views are joined by one copy
    return torch.cat(maps, 1).view(-1, width)


def dense_batch(head, cls_scores, bbox_preds, batch_gt_instances,
                batch_img_metas, batch_gt_instances_ignore=None):
    """The anchors, their targets (``head.get_targets``) and the head's
    outputs, flattened to rows.

    Args:
        head: an mmdet ``AnchorHead`` (RetinaNet, SSD).
        cls_scores (list[Tensor]): per level, (N, A_l * C', H, W).
        bbox_preds (list[Tensor]): per level, (N, A_l * 4, H, W).
        batch_gt_instances, batch_img_metas, batch_gt_instances_ignore: as
            ``head.loss_by_feat`` takes them.

    Returns:
        SampleBatch: N * A rows, A the anchors of an image.
    """
    featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
    anchor_list, valid_flag_list = head.get_anchors(
        featmap_sizes, batch_img_metas, device=cls_scores[0].device)
    (labels, label_weights, bbox_targets, bbox_weights, avg_factor,
     sampling_results) = head.get_targets(
         anchor_list,
         valid_flag_list,
         batch_gt_instances,
         batch_img_metas,
         batch_gt_instances_ignore=batch_gt_instances_ignore,
         return_sampling_results=True)
    target_width = bbox_targets[0].size(-1)
    return SampleBatch(
        cls_score=_rows(cls_scores, head.cls_out_channels),
        bbox_pred=_rows(bbox_preds, head.bbox_coder.encode_size),
        priors=torch.cat(
            [get_box_tensor(torch.cat(levels)) for levels in anchor_list]),
        labels=torch.cat(labels, 1).reshape(-1),
        label_weights=torch.cat(label_weights, 1).reshape(-1),
        bbox_targets=torch.cat(bbox_targets, 1).reshape(-1, target_width),
        bbox_weights=torch.cat(bbox_weights, 1).reshape(-1, target_width),
        avg_factor=avg_factor,
        sampling_results=sampling_results,
        num_classes=head.num_classes)
