"""A dense head's outputs and training targets for a whole batch, as rows.

The PISA RetinaNet and SSD heads and the OHEM head all compute their losses
over every anchor of every image at once; this gathers what they start
from, with mmdet's anchor generation and target assignment.
"""
from typing import List, NamedTuple, Union

import torch
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor


class DenseBatch(NamedTuple):
    """N images of A anchors each (all levels), C = ``cls_out_channels``;
    rows are image after image, in mmdet's anchor order within an image."""
    cls_score: Tensor  # (N * A, C)
    bbox_pred: Tensor  # (N * A, 4)
    anchors: Tensor  # (N * A, 4)
    labels: Tensor  # (N * A,), background = num_classes
    label_weights: Tensor  # (N * A,)
    bbox_targets: Tensor  # (N * A, 4)
    bbox_weights: Tensor  # (N * A, 4)
    avg_factor: Union[int, float, Tensor]
    sampling_results: List


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
    """Anchors, targets (``head.get_targets``) and the flattened outputs.

    Args:
        head: an mmdet ``AnchorHead`` (RetinaNet, SSD).
        cls_scores (list[Tensor]): per level, (N, A_l * C, H, W).
        bbox_preds (list[Tensor]): per level, (N, A_l * 4, H, W).
        batch_gt_instances, batch_img_metas, batch_gt_instances_ignore: as
            ``head.loss_by_feat`` takes them.

    Returns:
        DenseBatch
    """
    featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
    anchor_list, valid_flag_list = head.get_anchors(
        featmap_sizes, batch_img_metas, device=cls_scores[0].device)
    (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list,
     avg_factor, sampling_results) = head.get_targets(
         anchor_list,
         valid_flag_list,
         batch_gt_instances,
         batch_img_metas,
         batch_gt_instances_ignore=batch_gt_instances_ignore,
         return_sampling_results=True)
    cls_score = _rows(cls_scores, head.cls_out_channels)
    bbox_pred = _rows(bbox_preds, 4)
    anchors = torch.cat(
        [get_box_tensor(torch.cat(levels)) for levels in anchor_list])
    return DenseBatch(
        cls_score=cls_score,
        bbox_pred=bbox_pred,
        anchors=anchors,
        labels=torch.cat(labels_list, 1).reshape(-1),
        label_weights=torch.cat(label_weights_list, 1).reshape(-1),
        bbox_targets=torch.cat(bbox_targets_list, 1).reshape(-1, 4),
        bbox_weights=torch.cat(bbox_weights_list, 1).reshape(-1, 4),
        avg_factor=avg_factor,
        sampling_results=sampling_results)
