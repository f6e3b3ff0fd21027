"""RetinaNet head with PISA's ISR-P and CARL (Cao et al., CVPR 2020).

Settings live in the detector's ``train_cfg`` as in mmdet's PISA configs;
leaving one out switches that part off::

    train_cfg=dict(..., isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))

* ``isr``: positives' classification weights become the ISR-P weights
  (IoU-HLR mapped by ``(bias + (1 - bias) * u) ** k``), rescaled so their
  classification loss sum is unchanged (``loss_cls`` called once more on the
  positives, without gradient); then the classification loss is computed
  with them.
* ``carl``: adds ``loss_carl``, the positives' regression loss weighted by
  the map of their classification score (gradient reaches the classifier).

Any classification loss works (sigmoid or softmax): ISR-P renormalises with
the head's own ``loss_cls``; CARL uses the head's own ``loss_bbox``.
"""
from mmdet.models.dense_heads import RetinaHead
from mmdet.structures.bbox import get_box_tensor

from imbalance_plugin.functional.pisa import carl_loss, carl_weights
from imbalance_plugin.heads.dense_batch import dense_batch
from imbalance_plugin.heads.isr_p import (
    isr_p_label_weights,
    positive_indices,
    positives_loss,
)
from imbalance_plugin.heads.pisa_common import (
    PISA_WEIGHTS_ATTRIBUTE,
    class_probability,
    gt_groups_of,
    pisa_cfg,
    weights_where,
)
from imbalance_plugin.losses.unreduced_loss import preserved_buffers
from imbalance_plugin.registry import MODELS


@MODELS.register_module()
class PISARetinaHead(RetinaHead):
    """RetinaHead whose loss applies ISR-P (``train_cfg.isr``) and CARL
    (``train_cfg.carl``); the rest is RetinaNet's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pisa_cfg = pisa_cfg(self.train_cfg, type(self).__name__)

    def loss_by_feat(self,
                     cls_scores,
                     bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     batch_gt_instances_ignore=None):
        """Classification, regression and (with CARL) CARL losses.

        Args:
            cls_scores (list[Tensor]): per level, (N, A * C, H, W).
            bbox_preds (list[Tensor]): per level, (N, A * 4, H, W).
            batch_gt_instances (list[InstanceData]): ground truths per image.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[InstanceData], optional).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox`` and ``loss_carl``.
        """
        (cls_score, bbox_pred, anchors, labels, label_weights, bbox_targets,
         bbox_weights, avg_factor, sampling_results) = dense_batch(
             self, cls_scores, bbox_preds, batch_gt_instances,
             batch_img_metas, batch_gt_instances_ignore)

        pos_inds = positive_indices(labels, self.num_classes)
        pisa_weights = {}
        isr_cfg = self.pisa_cfg['isr']
        if isr_cfg is not None:
            label_weights = isr_p_label_weights(
                pos_inds,
                positives_loss(self.loss_cls, cls_score, labels, pos_inds),
                bbox_pred, anchors, labels, label_weights, bbox_targets,
                gt_groups_of(sampling_results), self.bbox_coder,
                self.reg_decoded_bbox, **isr_cfg)
            pisa_weights['isr_p'] = weights_where(
                (labels >= 0) & (labels < self.num_classes), label_weights)
        loss_cls = self.loss_cls(
            cls_score, labels, label_weights, avg_factor=avg_factor)
        losses = dict(
            loss_cls=loss_cls,
            loss_bbox=self._regression_loss(
                bbox_pred, anchors, bbox_targets, bbox_weights, avg_factor))

        carl_cfg = self.pisa_cfg['carl']
        if carl_cfg is not None:
            pos_labels = labels[pos_inds]
            pos_pred = bbox_pred[pos_inds]
            if self.reg_decoded_bbox:
                pos_pred = get_box_tensor(
                    self.bbox_coder.decode(anchors[pos_inds], pos_pred))
            with preserved_buffers(self.loss_bbox):
                reg_loss = self.loss_bbox(
                    pos_pred, bbox_targets[pos_inds],
                    reduction_override='none')
            scores = class_probability(cls_score[pos_inds], pos_labels,
                                       self.use_sigmoid_cls)
            losses['loss_carl'] = carl_loss(scores, reg_loss, avg_factor,
                                            **carl_cfg)
            pisa_weights['carl'] = carl_weights(scores.detach(), **carl_cfg)
        setattr(self, PISA_WEIGHTS_ATTRIBUTE, pisa_weights)
        return losses

    def _regression_loss(self, bbox_pred, anchors, bbox_targets, bbox_weights,
                         avg_factor):
        if self.reg_decoded_bbox:
            bbox_pred = get_box_tensor(
                self.bbox_coder.decode(anchors, bbox_pred))
        return self.loss_bbox(
            bbox_pred, bbox_targets, bbox_weights, avg_factor=avg_factor)
