r"""RS-ATSS: ATSS trained by Rank & Sort Loss (Oksuz et al., ICCV 2021).

As the authors ship it: ATSS's assigner and towers, no centerness branch
(the sorting objective makes the classification score rank the positives by
their localisation quality, so no auxiliary branch is needed), and

* ``loss_cls``: Rank & Sort Loss over all anchors of the batch, the sorting
  targets the IoU of each positive's predicted box (detached) with its
  object;
* ``loss_bbox``: the GIoU loss of the positives (``reduction='none'``),
  each weighted by its anchor's classification score (the largest sigmoid
  over the classes, detached), normalised by the sum of those weights;
* the tuning-free task balance: ``loss_bbox`` is multiplied by
  :math:`\lambda = L_{RS} / L_{box}` (values, no gradient), so that it
  always weighs as much as the ranking loss.
"""
import torch
from mmdet.models.dense_heads import ATSSHead
from mmdet.structures.bbox import get_box_tensor

from imbalance_plugin.heads.rank_sort_common import (
    check_rank_sort_head,
    rank_sort_task_losses,
)
from imbalance_plugin.heads.sigmoid_classifier import (
    check_one_logit_per_class,
    sigmoid_loss_cls,
)
from imbalance_plugin.losses import QualityFocalLoss, RankSortLoss
from imbalance_plugin.registry import MODELS
from imbalance_plugin.structures.positives import positive_indices


def _rows(levels, width):
    """(N, A * width, H, W) levels to (N * anchors, width) rows, image after
    image and level after level within an image (get_targets' order)."""
    maps = [level.permute(0, 2, 3, 1).reshape(level.shape[0], -1, width)
            for level in levels]
    return torch.cat(maps, 1).reshape(-1, width)


def _joined(levels, width=None):
    """Per-level (N, anchors_l, ...) targets to (N * anchors, ...) rows."""
    joined = torch.cat(levels, 1)
    return joined.reshape(-1) if width is None else joined.reshape(-1, width)


@MODELS.register_module()
class RankSortATSSHead(ATSSHead):
    """ATSSHead without centerness, trained by Rank & Sort Loss with the
    tuning-free task balance (module docstring,
    :mod:`imbalance_plugin.heads.rank_sort_common`). ``loss_cls`` takes
    ``(labels, ious)`` targets (``imbalance_plugin.RankSortLoss``, or
    ``QualityFocalLoss``); ``loss_bbox`` must be unreduced (``GIoULoss``
    with ``reduction='none'``) and ``reg_decoded_bbox`` True (ATSS's
    default)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **sigmoid_loss_cls(kwargs))
        check_one_logit_per_class(self)
        check_rank_sort_head(self, (RankSortLoss, QualityFocalLoss))

    def _init_layers(self) -> None:
        super()._init_layers()
        del self.atss_centerness

    def forward_single(self, x, scale):
        """``(cls_score, bbox_pred)`` of one level; no centerness."""
        cls_feat = x
        reg_feat = x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        cls_score = self.atss_cls(cls_feat)
        bbox_pred = scale(self.atss_reg(reg_feat)).float()
        return cls_score, bbox_pred

    def loss_by_feat(self,
                     cls_scores,
                     bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     batch_gt_instances_ignore=None):
        """Rank & Sort Loss and the balanced, score-weighted GIoU loss.

        Args:
            cls_scores (list[Tensor]): per level, (N, A * C, H, W).
            bbox_preds (list[Tensor]): per level, (N, A * 4, H, W).
            batch_gt_instances (list[InstanceData]): ground truths per image.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[InstanceData], optional).

        Returns:
            dict[str, Tensor]: ``loss_cls`` (Rank & Sort) and ``loss_bbox``.
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        (anchors, labels, label_weights, bbox_targets, _,
         _) = self.get_targets(
             anchor_list, valid_flag_list, batch_gt_instances,
             batch_img_metas,
             batch_gt_instances_ignore=batch_gt_instances_ignore)
        cls_score = _rows(cls_scores, self.cls_out_channels)
        bbox_pred = _rows(bbox_preds, 4)
        anchors = _joined(anchors, 4)
        labels = _joined(labels)
        label_weights = _joined(label_weights)
        bbox_targets = _joined(bbox_targets, 4)

        positive = positive_indices(labels, self.num_classes)
        boxes = get_box_tensor(self.bbox_coder.decode(
            anchors.index_select(0, positive),
            bbox_pred.index_select(0, positive)))
        targets = bbox_targets.index_select(0, positive)  # decoded boxes
        loss_rank, loss_box = rank_sort_task_losses(
            self.loss_cls, self.loss_bbox, cls_score, labels, label_weights,
            positive, boxes, targets)
        # keeps the regression branch in the graph without positives
        loss_box = loss_box + 0 * bbox_pred.sum()
        return dict(loss_cls=loss_rank, loss_bbox=loss_box)
