"""SSD head with PISA's ISR-P and CARL (Cao et al., CVPR 2020).

SSD's loss (Liu et al., ECCV 2016): softmax cross-entropy over the positives
and, per image, the ``neg_pos_ratio * P`` negatives of highest loss (hard
negative mining, ``P`` the image's positives), plus smooth L1 over the
positives, each summed and divided by the batch's positive count
``avg_factor``. PISA changes it as mmdet 3.3.0's ``PISASSDHead`` does,
through the detector's ``train_cfg``::

    train_cfg=dict(..., isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))

* ``isr``: the positives' label weights become the ISR-P weights (IoU-HLR
  mapped by ``(bias + (1 - bias) * u) ** k``), rescaled so that the
  positives' cross-entropy sum is unchanged; hard negatives are then mined
  on the weighted loss (the negatives' weights are untouched).
* ``carl``: adds ``loss_carl``, the positives' smooth L1 weighted by the map
  of their softmax score of the true class (the gradient reaches the
  classifier).

The cross-entropy and smooth L1 of all anchors are computed once, unreduced:
ISR-P reads the positives' cross-entropy from it, CARL the positives'
smooth L1 (with the head's ``smoothl1_beta``, and on decoded boxes with
``reg_decoded_bbox``; mmdet's CARL always uses beta 1 on deltas, the same
loss in its SSD configs). Hard negatives are mined for all images at once by
ranking each image's negatives. ``loss_cls`` and ``loss_bbox`` are lists of
per-image terms, as mmdet's SSD heads return them. Targets cover all anchors
as in mmdet's ``SSDHead`` (its ``PISASSDHead`` keeps only the valid ones,
which are all of them in SSD's configs: every input is resized to the
anchor generator's size).
"""
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from mmdet.models.losses import smooth_l1_loss

from imbalance_plugin.heads.pisa_common import (
    PISASettings,
    carl,
    isr_p,
    log_pisa_weights,
)
from imbalance_plugin.heads.ssd_head import SSDHead
from imbalance_plugin.registry import MODELS
from imbalance_plugin.structures.box_decoding import regression_input
from imbalance_plugin.structures.positives import positive_mask
from imbalance_plugin.structures.sample_batch import dense_batch
from imbalance_plugin.utils.settings import check_int, check_number, from_cfg

_EPS = torch.finfo(torch.float32).eps


@dataclass(frozen=True)
class SSDLossSettings:
    """The keys of SSD's ``train_cfg`` that its loss reads; the others (the
    assigner, ``min_pos_iou``, ...) are mmdet's, PISA's parts are
    :class:`~imbalance_plugin.heads.pisa_common.PISASettings`.

    Attributes:
        neg_pos_ratio: hard negatives kept per positive, an integer >= 0.
        smoothl1_beta: smooth L1's beta, a number > 0.
    """
    neg_pos_ratio: int
    smoothl1_beta: float

    def __post_init__(self):
        check_int(self.neg_pos_ratio, 'neg_pos_ratio', low=0)
        check_number(self.smoothl1_beta, 'smoothl1_beta', low=0,
                     low_open=True)

    @classmethod
    def from_train_cfg(cls, train_cfg, where='train_cfg'):
        """Those keys of ``train_cfg`` (both required, as mmdet's SSDHead
        reads them); None for a head built without ``train_cfg``.

        Raises:
            ValueError: naming ``<where>.<key>`` for a value out of range.
        """
        if not train_cfg:
            return None
        return from_cfg(cls, {field.name: train_cfg.get(field.name)
                              for field in fields(cls)}, where)


def hard_example_mask(loss, labels, num_classes, neg_pos_ratio):
    """SSD's hard negative mining for a batch: the samples that count.

    In each image, every positive (label in [0, C)) and the
    ``min(neg_pos_ratio * P, N)`` negatives (label C) of highest loss, with
    ``P`` and ``N`` the image's positive and negative counts. The negatives
    are ranked by one sort per image row; equal losses are ranked by index.

    Args:
        loss (Tensor): (B, A) loss of each anchor (only its values are used).
        labels (Tensor): (B, A) labels, ``num_classes`` for background.
        num_classes (int): C.
        neg_pos_ratio (int): negatives kept per positive.

    Returns:
        Tensor: (B, A) bool.
    """
    positive = positive_mask(labels, num_classes)
    negative = labels == num_classes
    num_hard = torch.minimum(neg_pos_ratio * positive.sum(1),
                             negative.sum(1))
    negative_loss = torch.where(negative, loss.detach(), float('-inf'))
    order = negative_loss.argsort(dim=1, descending=True, stable=True)
    position = torch.arange(loss.size(1), device=loss.device)
    rank = torch.empty_like(order).scatter_(1, order,
                                            position.expand_as(order))
    return positive | (negative & (rank < num_hard[:, None]))


@MODELS.register_module()
class PISASSDHead(SSDHead):
    """The plugin's :class:`SSDHead` (mmdet's, able to predict) whose loss
    applies ISR-P (``train_cfg.isr``) and CARL (``train_cfg.carl``); the
    rest is SSD's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        where = f'{type(self).__name__}.train_cfg'
        self.ssd = SSDLossSettings.from_train_cfg(self.train_cfg, where)
        self.pisa = PISASettings.from_train_cfg(self.train_cfg, where)

    def loss_by_feat(self,
                     cls_scores,
                     bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     batch_gt_instances_ignore=None):
        """Classification, regression and (with CARL) CARL losses.

        Args:
            cls_scores (list[Tensor]): per level, (B, A_l * (C + 1), H, W).
            bbox_preds (list[Tensor]): per level, (B, A_l * 4, H, W).
            batch_gt_instances (list[InstanceData]): ground truths per image.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[InstanceData], optional).

        Returns:
            dict: ``loss_cls`` and ``loss_bbox``, lists of B per-image terms
            ((1,) and 0-dim), and with CARL ``loss_carl`` (1,). For image
            ``i``, ``loss_cls_i = sum_{j in P_i + H_i} w_j CE_j / avg_factor``
            (``P_i`` its positives, ``H_i`` its hard negatives, ``w`` the
            label weights after ISR-P) and ``loss_bbox_i = sum_{j in P_i}
            SmoothL1_j / avg_factor``.
        """
        num_imgs = len(batch_img_metas)
        batch = dense_batch(self, cls_scores, bbox_preds, batch_gt_instances,
                            batch_img_metas, batch_gt_instances_ignore)
        cls_loss = F.cross_entropy(batch.cls_score, batch.labels,
                                   reduction='none')
        reg_loss = smooth_l1_loss(
            regression_input(self, batch.priors, batch.bbox_pred),
            batch.bbox_targets,
            beta=self.ssd.smoothl1_beta,
            reduction='none')
        label_weights, isr_p_weights = isr_p(
            batch, self, self.pisa.isr, cls_loss=cls_loss)

        weighted = (cls_loss * label_weights).view(num_imgs, -1)
        counted = hard_example_mask(weighted, batch.labels.view(num_imgs, -1),
                                    self.num_classes,
                                    self.ssd.neg_pos_ratio)
        losses_cls = torch.where(counted, weighted, 0.).sum(1) / \
            batch.avg_factor
        losses_bbox = (reg_loss * batch.bbox_weights).view(
            num_imgs, -1).sum(1) / (batch.avg_factor + _EPS)

        carl_losses, carl_weights = carl(batch, self, self.pisa.carl,
                                         reg_loss=reg_loss)
        log_pisa_weights(self, isr_p=isr_p_weights, carl=carl_weights)
        return dict(loss_cls=list(losses_cls[:, None].unbind()),
                    loss_bbox=list(losses_bbox.unbind()), **carl_losses)
