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

from imbalance_plugin.heads.pisa_common import (
    PISASettings,
    carl,
    isr_p,
    log_pisa_weights,
)
from imbalance_plugin.registry import MODELS
from imbalance_plugin.structures.box_decoding import regression_input
from imbalance_plugin.structures.sample_batch import dense_batch


@MODELS.register_module()
class PISARetinaHead(RetinaHead):
    """RetinaHead whose loss applies ISR-P (``train_cfg.isr``) and CARL
    (``train_cfg.carl``); the rest is RetinaNet's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pisa = PISASettings.from_train_cfg(
            self.train_cfg, f'{type(self).__name__}.train_cfg')

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
        batch = dense_batch(self, cls_scores, bbox_preds, batch_gt_instances,
                            batch_img_metas, batch_gt_instances_ignore)
        label_weights, isr_p_weights = isr_p(batch, self, self.pisa.isr)
        loss_cls = self.loss_cls(batch.cls_score, batch.labels,
                                 label_weights, avg_factor=batch.avg_factor)
        loss_bbox = self.loss_bbox(
            regression_input(self, batch.priors, batch.bbox_pred),
            batch.bbox_targets, batch.bbox_weights,
            avg_factor=batch.avg_factor)
        carl_losses, carl_weights = carl(batch, self, self.pisa.carl)
        log_pisa_weights(self, isr_p=isr_p_weights, carl=carl_weights)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, **carl_losses)
