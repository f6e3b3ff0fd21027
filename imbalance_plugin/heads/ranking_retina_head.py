"""RetinaNet heads for the ranking-based losses.

mmdet's ``AnchorHead`` calls its classification loss once per FPN level, so
a ranking loss would rank each level apart. These heads call it once on the
whole batch, every level of every image (:func:`dense_batch` rows), as the
papers rank it.

* :class:`RankingRetinaHead`: classification by a ranking loss on the class
  labels (AP Loss, ``imbalance_plugin.APLoss``), regression as RetinaNet's
  (``loss_bbox`` on the positives, averaged over them).
* :class:`aLRPRetinaHead`: aLRP Loss for both tasks: the positives' boxes
  are decoded and their GIoU loss, :math:`1 - \\mathrm{GIoU}`, is the
  localisation error aLRP ranks with (``loss_bbox`` must be unreduced,
  ``GIoULoss`` with ``reduction='none'``); the returned ``loss_bbox`` is
  aLRP's self-balanced localisation component.
"""
from mmdet.models.dense_heads import RetinaHead
from mmdet.structures.bbox import get_box_tensor

from imbalance_plugin.heads.sigmoid_classifier import (
    check_one_logit_per_class,
    sigmoid_loss_cls,
)
from imbalance_plugin.losses.ranking_loss import aLRPLoss
from imbalance_plugin.registry import MODELS
from imbalance_plugin.structures.sample_batch import dense_batch


@MODELS.register_module()
class RankingRetinaHead(RetinaHead):
    """RetinaHead whose ``loss_cls`` ranks the whole batch in one call
    (e.g. ``imbalance_plugin.APLoss``, one logit per class); the rest is
    RetinaNet's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **sigmoid_loss_cls(kwargs))
        check_one_logit_per_class(self)

    def loss_by_feat(self,
                     cls_scores,
                     bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     batch_gt_instances_ignore=None):
        """``loss_cls`` on all anchors of the batch, ``loss_bbox`` as
        RetinaNet's (averaged over ``avg_factor``, the positives).

        Args:
            cls_scores (list[Tensor]): per level, (N, A * C, H, W).
            bbox_preds (list[Tensor]): per level, (N, A * 4, H, W).
            batch_gt_instances (list[InstanceData]): ground truths per image.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[InstanceData], optional).

        Returns:
            dict[str, Tensor]: ``loss_cls`` and ``loss_bbox``.
        """
        batch = dense_batch(self, cls_scores, bbox_preds, batch_gt_instances,
                            batch_img_metas, batch_gt_instances_ignore)
        loss_cls = self.loss_cls(batch.cls_score, batch.labels,
                                 batch.label_weights,
                                 avg_factor=batch.avg_factor)
        bbox_pred = batch.bbox_pred
        if self.reg_decoded_bbox:
            bbox_pred = get_box_tensor(
                self.bbox_coder.decode(batch.priors, bbox_pred))
        loss_bbox = self.loss_bbox(bbox_pred, batch.bbox_targets,
                                   batch.bbox_weights,
                                   avg_factor=batch.avg_factor)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)


@MODELS.register_module()
class aLRPRetinaHead(RetinaHead):  # noqa: N801  (the paper's name)
    """RetinaHead trained by aLRP Loss alone: ``loss_cls`` must be an
    ``imbalance_plugin.aLRPLoss``, ``loss_bbox`` the unreduced localisation
    error of a box (``GIoULoss`` with ``reduction='none'``, the authors')."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **sigmoid_loss_cls(kwargs))
        check_one_logit_per_class(self)
        if not isinstance(self.loss_cls, aLRPLoss):
            raise ValueError('aLRPRetinaHead: loss_cls must be '
                             "imbalance_plugin.aLRPLoss, got "
                             f'{type(self.loss_cls).__name__}')
        if getattr(self.loss_bbox, 'reduction', None) != 'none':
            raise ValueError("aLRPRetinaHead: loss_bbox must have "
                             "reduction='none' (one localisation error per "
                             'positive), got reduction='
                             f'{getattr(self.loss_bbox, "reduction", None)!r}')

    def loss_by_feat(self,
                     cls_scores,
                     bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     batch_gt_instances_ignore=None):
        """aLRP Loss of the batch: ``loss_cls`` its classification
        component, ``loss_bbox`` its localisation component times the
        self-balance weight.

        Args: as :meth:`RankingRetinaHead.loss_by_feat`.

        Returns:
            dict[str, Tensor]: ``loss_cls`` and ``loss_bbox``.
        """
        batch = dense_batch(self, cls_scores, bbox_preds, batch_gt_instances,
                            batch_img_metas, batch_gt_instances_ignore)
        positive = batch.pos_inds
        priors = batch.priors.index_select(0, positive)
        boxes = get_box_tensor(self.bbox_coder.decode(
            priors, batch.bbox_pred.index_select(0, positive)))
        targets = batch.bbox_targets.index_select(0, positive)
        if not self.reg_decoded_bbox:
            targets = get_box_tensor(self.bbox_coder.decode(priors, targets))
        # the localisation error of each anchor, read at the positives
        loc_error = boxes.new_zeros(batch.labels.numel()).index_put(
            (positive,), self.loss_bbox(boxes, targets).reshape(-1))
        loss_cls, loss_loc = self.loss_cls(batch.cls_score, batch.labels,
                                           loc_error, batch.label_weights)
        # keeps the regression branch in the graph without positives
        loss_loc = loss_loc + 0 * batch.bbox_pred.sum()
        return dict(loss_cls=loss_cls, loss_bbox=loss_loc)
