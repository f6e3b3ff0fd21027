r"""The RoI box head of RS-R-CNN: Faster R-CNN's ``Shared2FCBBoxHead``
trained by Rank & Sort Loss (Oksuz et al., ICCV 2021), as the authors ship
it (their ``RankBasedShared2FCBBoxHead``); mmdet's ``StandardRoIHead``
runs it.

* a sigmoid classifier, one logit per class, no background output;
* no sampling: the RoI sampler takes every proposal (and the ground-truth
  boxes it adds), and ``loss_cls`` ranks all of them, every image of the
  batch in one call, the logit of a positive's class sorted by the IoU of
  its decoded box (the box of its own class) with its object;
* the box loss is the positives' GIoU on decoded boxes
  (``reg_decoded_bbox=True``), weighted by their classification scores and
  balanced by :math:`L_{RS} / L_{box}`
  (:mod:`imbalance_plugin.heads.rank_sort_common`);
* at test time the scores are the sigmoids (and a zero background column
  for mmdet's ``multiclass_nms``).
"""
import torch
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.structures import InstanceData

from imbalance_plugin.heads.rank_sort_common import (
    check_rank_sort_head,
    rank_sort_task_losses,
)
from imbalance_plugin.registry import MODELS
from imbalance_plugin.structures.box_decoding import (
    class_deltas,
    regression_input,
)
from imbalance_plugin.structures.positives import positive_indices


@MODELS.register_module()
class RankSortBBoxHead(Shared2FCBBoxHead):
    """Shared2FCBBoxHead with a sigmoid classifier trained by Rank & Sort
    Loss over all RoIs of the batch, ``type='imbalance_plugin.
    RankSortBBoxHead'``.

    Args: as ``Shared2FCBBoxHead``'s. ``loss_cls`` must be
    ``imbalance_plugin.RankSortLoss``; ``loss_bbox`` unreduced
    (``GIoULoss`` with ``reduction='none'``); ``reg_decoded_bbox`` True;
    ``with_cls`` and ``with_reg`` True (the sorting targets are the IoUs of
    the regressed boxes).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in ('with_cls', 'with_reg'):
            if getattr(self, key) is not True:
                raise ValueError(
                    f'RankSortBBoxHead: {key} must be True (Rank & Sort ranks '
                    'the classification logits by the IoUs of the regressed '
                    f'boxes), got {getattr(self, key)!r}')
        check_rank_sort_head(self)
        predictor = self.cls_predictor_cfg.copy()
        predictor.update(in_features=self.cls_last_dim,
                         out_features=self.num_classes)
        self.fc_cls = MMDET_MODELS.build(predictor)

    def loss(self,
             cls_score,
             bbox_pred,
             rois,
             labels,
             label_weights,
             bbox_targets,
             bbox_weights,
             reduction_override=None):
        """Rank & Sort Loss of all RoIs of the batch and the balanced,
        score-weighted GIoU loss of the positives.

        Args:
            cls_score (Tensor): (n, C) logits, n the RoIs of all images.
            bbox_pred (Tensor): (n, 4 * C) or class-agnostic (n, 4) deltas.
            rois (Tensor): (n, 5), image index and box.
            labels (Tensor): (n,) class, C for background.
            label_weights (Tensor): (n,); RoIs with weight <= 0 are not
                ranked.
            bbox_targets (Tensor): (n, 4) the objects' boxes (decoded).
            bbox_weights (Tensor): (n, 4), not used (the positives are
                weighted by their scores).
            reduction_override: must be None (a ranking has no per-RoI
                value).

        Returns:
            dict[str, Tensor]: ``loss_cls`` (Rank & Sort) and ``loss_bbox``.
        """
        if reduction_override is not None:
            raise ValueError('RankSortBBoxHead: reduction_override must be '
                             f'None, got {reduction_override!r}')
        positive = positive_indices(labels, self.num_classes)
        deltas = class_deltas(bbox_pred, positive,
                              labels.index_select(0, positive))
        boxes = regression_input(self, rois[:, 1:].index_select(0, positive),
                                 deltas)
        targets = bbox_targets.index_select(0, positive)
        loss_rank, loss_box = rank_sort_task_losses(
            self.loss_cls, self.loss_bbox, cls_score, labels, label_weights,
            positive, boxes, targets)
        # keeps the regression branch in the graph without positives
        loss_box = loss_box + 0 * bbox_pred.sum()
        return dict(loss_cls=loss_rank, loss_bbox=loss_box)

    def _predict_by_feat_single(self,
                                roi,
                                cls_score,
                                bbox_pred,
                                img_meta,
                                rescale=False,
                                rcnn_test_cfg=None):
        """mmdet's boxes of one image with sigmoid scores: (m, 5) rois,
        (m, C) logits, (m, 4 * C) deltas; a zero background column is
        appended to the scores, as ``multiclass_nms`` expects C + 1."""
        if roi.shape[0] == 0:
            return super()._predict_by_feat_single(
                roi, cls_score, bbox_pred, img_meta, rescale, rcnn_test_cfg)
        # mmdet's boxes without NMS (its scores are softmax ones: replaced)
        raw = super()._predict_by_feat_single(roi, cls_score, bbox_pred,
                                              img_meta, rescale, None)
        raw.scores = torch.cat(
            (cls_score.sigmoid(), cls_score.new_zeros(cls_score.shape[0], 1)),
            1)
        if rcnn_test_cfg is None:  # augmented test: no NMS
            return raw
        per_roi = 1 if self.reg_class_agnostic else self.num_classes
        det_bboxes, det_labels = multiclass_nms(
            raw.bboxes, raw.scores, rcnn_test_cfg.score_thr,
            rcnn_test_cfg.nms, rcnn_test_cfg.max_per_img,
            box_dim=raw.bboxes.shape[1] // per_roi)
        return InstanceData(bboxes=det_bboxes[:, :-1],
                            scores=det_bboxes[:, -1], labels=det_labels)
