r"""The RPN of RS-R-CNN: Faster R-CNN's RPN trained by Rank & Sort Loss
(Oksuz et al., ICCV 2021), as the authors ship it (their
``RankBasedRPNHead``).

No sampling: with a ``PseudoSampler`` every assigned anchor of the batch
(all levels, all images; label weight > 0) is ranked in one call of
``loss_cls``, the objectness logit of a positive sorted by the IoU of its
decoded box with its object. The box loss is the positives' GIoU weighted
by their objectness scores and balanced by :math:`L_{RS} / L_{box}`
(:mod:`imbalance_plugin.heads.rank_sort_common`); both are then multiplied
by ``head_weight``, the weight of the whole RPN loss in the detector's
(the authors': 0.2).
"""
from mmdet.models.dense_heads import RPNHead

from imbalance_plugin.heads.rank_sort_common import (
    check_rank_sort_head,
    rank_sort_task_losses,
)
from imbalance_plugin.heads.sigmoid_classifier import (
    check_one_logit_per_class,
    sigmoid_loss_cls,
)
from imbalance_plugin.registry import MODELS
from imbalance_plugin.structures.box_decoding import regression_input
from imbalance_plugin.structures.sample_batch import dense_batch
from imbalance_plugin.utils.settings import check_number


@MODELS.register_module()
class RankSortRPNHead(RPNHead):
    r"""RPNHead trained by Rank & Sort Loss with the tuning-free task
    balance, ``type='imbalance_plugin.RankSortRPNHead'``.

    Args:
        in_channels: channels of the input feature maps.
        head_weight: multiplier of the whole RPN loss, >= 0 (the authors'
            0.2). The returned losses are
            ``loss_rpn_cls`` :math:`= w L_{RS}` and ``loss_rpn_bbox``
            :math:`= w \lambda L_{box}`, :math:`\lambda = L_{RS} /
            L_{box}`.
        **kwargs: as ``RPNHead``'s. ``loss_cls`` must be
            ``imbalance_plugin.RankSortLoss`` (it gets one sigmoid logit,
            ``use_sigmoid`` need not be written); ``loss_bbox`` unreduced
            (``GIoULoss`` with ``reduction='none'``); ``reg_decoded_bbox``
            True (the targets are the objects' boxes).
    """

    def __init__(self, in_channels, head_weight=0.2, **kwargs):
        super().__init__(in_channels, **sigmoid_loss_cls(kwargs))
        check_one_logit_per_class(self)
        check_rank_sort_head(self)
        self.head_weight = check_number(head_weight, 'head_weight', low=0)

    def loss_by_feat(self,
                     cls_scores,
                     bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     batch_gt_instances_ignore=None):
        """Rank & Sort Loss of every assigned anchor of the batch and the
        balanced, score-weighted GIoU loss of the positives, each times
        ``head_weight``.

        Args:
            cls_scores (list[Tensor]): per level, (N, A, H, W) objectness
                logits.
            bbox_preds (list[Tensor]): per level, (N, A * 4, H, W) deltas.
            batch_gt_instances (list[InstanceData]): ground truths per image.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[InstanceData], optional).

        Returns:
            dict[str, Tensor]: ``loss_rpn_cls`` and ``loss_rpn_bbox``.
        """
        batch = dense_batch(self, cls_scores, bbox_preds, batch_gt_instances,
                            batch_img_metas, batch_gt_instances_ignore)
        positive = batch.pos_inds
        boxes = regression_input(self, batch.priors.index_select(0, positive),
                                 batch.bbox_pred.index_select(0, positive))
        targets = batch.bbox_targets.index_select(0, positive)
        loss_rank, loss_box = rank_sort_task_losses(
            self.loss_cls, self.loss_bbox, batch.cls_score, batch.labels,
            batch.label_weights, positive, boxes, targets)
        # keeps the regression branch in the graph without positives
        loss_box = loss_box + 0 * batch.bbox_pred.sum()
        return dict(loss_rpn_cls=self.head_weight * loss_rank,
                    loss_rpn_bbox=self.head_weight * loss_box)
