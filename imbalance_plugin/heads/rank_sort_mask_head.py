r"""The mask head of RS-Mask R-CNN (Oksuz et al., "Rank & Sort Loss for
Object Detection and Instance Segmentation", ICCV 2021), as the authors
ship it (their ``RankBasedFCNMaskHead``): mmdet's ``FCNMaskHead`` with the
per-pixel cross-entropy replaced by a Dice loss per positive RoI,

.. math::
    L_{mask} = \frac{\sum_{i \in \mathcal{P}} w_i\,(1 - D_i)}
                    {\sum_{i \in \mathcal{P}} w_i},\qquad
    \text{returned: } \lambda L_{mask},\quad
    \lambda = L_{RS} / L_{mask}

with :math:`D_i` the Dice coefficient of the positive's mask of its class
(:func:`dice_loss_per_roi`), :math:`w_i` the weights of the RoI box loss
(the positives' classification scores, detached) and :math:`\lambda` the
tuning-free task balance of Rank & Sort Loss (a value, no gradient): the
mask loss always weighs as much as the RoI head's ranking loss
:math:`L_{RS}`. ``imbalance_plugin.RankSortRoIHead`` computes
:math:`w` and :math:`L_{RS}` with its ``RankSortBBoxHead`` and hands them
over.
"""
import torch
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.structures.mask import mask_target

from imbalance_plugin.registry import MODELS
from imbalance_plugin.utils.settings import check_number


def dice_loss_per_roi(pred, target, eps=1e-5):
    r"""One minus the Dice coefficient of each RoI's mask.

    .. math::
        1 - D_i,\qquad D_i = \frac{2 \sum_{x} p_{ix} t_{ix}}
            {\sum_x p_{ix}^2 + \sum_x t_{ix}^2 + \epsilon}

    the sums over the pixels :math:`x` of RoI :math:`i`.

    Args:
        pred (Tensor): (p, h, w) mask probabilities (sigmoids), or any
            (p, ...) shape.
        target (Tensor): targets of ``pred``'s shape, in [0, 1].
        eps (float): :math:`\epsilon > 0`, keeps empty masks finite.

    Returns:
        Tensor: (p,) losses in [0, 1] for probabilities and binary targets.
    """
    pred = pred.reshape(pred.shape[0], -1)
    target = target.reshape(target.shape[0], -1).to(pred.dtype)
    overlap = (pred * target).sum(1)
    norms = pred.square().sum(1) + target.square().sum(1) + eps
    return 1 - 2 * overlap / norms


def weighted_mean(per_roi, weights, min_total=1e-10):
    r""":math:`\sum_i w_i l_i / \sum_i w_i`, the divisor 1 where
    :math:`\sum_i w_i < 10^{-10}` (the authors' guard).

    Args:
        per_roi (Tensor): (p,) losses.
        weights (Tensor): (p,) weights >= 0.
        min_total (float): the smallest divisor kept.

    Returns:
        Tensor: 0-d; 0 without RoIs.
    """
    total = weights.sum()
    total = torch.where(total < min_total, torch.ones_like(total), total)
    return (weights * per_roi).sum() / total


def balanced(loss, reference):
    r""":math:`\lambda \cdot` ``loss`` with
    :math:`\lambda = \mathrm{reference} / \mathrm{loss}` in value (both
    detached): the value of ``reference``, the gradient of ``loss`` times
    :math:`\lambda`. A zero ``loss`` stays 0 (its divisor is clamped to the
    dtype's epsilon)."""
    scale = reference.detach() / loss.detach().clamp_min(
        torch.finfo(loss.dtype).eps)
    return scale * loss


@MODELS.register_module()
class RankSortMaskHead(FCNMaskHead):
    r"""FCNMaskHead trained by the score-weighted Dice loss balanced to the
    RoI head's Rank & Sort Loss, ``type='imbalance_plugin.RankSortMaskHead'``;
    run by ``imbalance_plugin.RankSortRoIHead``.

    Args:
        loss_mask: must be None: the loss is fixed (the module docstring),
            no mmdet mask loss is built.
        dice_eps (float): :math:`\epsilon` of the Dice coefficient, > 0
            (the authors' 1e-5).
        **kwargs: as ``FCNMaskHead``'s (convolutions, classes,
            ``class_agnostic``, upsampling).
    """

    def __init__(self, loss_mask=None, dice_eps=1e-5, **kwargs):
        if loss_mask is not None:
            raise ValueError(
                'RankSortMaskHead: loss_mask must be None (the loss is the '
                'score-weighted Dice loss balanced to the RoI head\'s Rank & '
                f'Sort Loss), got {loss_mask!r}')
        # FCNMaskHead builds a loss_mask; this head has none of its own.
        super().__init__(**kwargs)
        self.loss_mask = None
        self.dice_eps = check_number(dice_eps, 'RankSortMaskHead: dice_eps',
                                     low=0, low_open=True)

    def loss(self, mask_preds, mask_targets, labels, positive_weights,
             loss_cls):
        r"""The balanced, weighted Dice loss of the positives.

        Args:
            mask_preds (Tensor): (p, C, h, w) mask logits of the p positive
                RoIs (C = 1 with ``class_agnostic``).
            mask_targets (Tensor): (p, h, w) binary targets.
            labels (Tensor): (p,) int64 class of each positive.
            positive_weights (Tensor): (p,) weights :math:`w_i`, detached
                (the box loss's).
            loss_cls (Tensor): 0-d :math:`L_{RS}` of the RoI head; only its
                value is used.

        Returns:
            Tensor: 0-d :math:`\lambda L_{mask}`, equal to ``loss_cls`` in
            value; 0 (with a gradient path) without positives.
        """
        if mask_preds.shape[0] == 0:
            return mask_preds.sum() * 0
        if self.class_agnostic:
            labels = torch.zeros_like(labels)
        rows = torch.arange(mask_preds.shape[0], device=mask_preds.device)
        probs = mask_preds[rows, labels].float().sigmoid()
        per_roi = dice_loss_per_roi(probs, mask_targets, self.dice_eps)
        loss = weighted_mean(per_roi, positive_weights.detach().float())
        return balanced(loss, loss_cls)

    def loss_and_target(self, mask_preds, sampling_results,
                        batch_gt_instances, rcnn_train_cfg,
                        positive_weights=None, loss_cls=None):
        """mmdet's ``loss_and_target`` with the weights and the ranking loss
        of ``RankSortRoIHead``.

        Args:
            mask_preds (Tensor): (p, C, h, w) logits of the positives of
                ``sampling_results``, image after image.
            sampling_results (list[SamplingResult]): per image.
            batch_gt_instances (list[InstanceData]): with ``masks``.
            rcnn_train_cfg (ConfigDict): ``train_cfg.rcnn`` (``mask_size``).
            positive_weights (Tensor): (p,) the positives' weights.
            loss_cls (Tensor): 0-d Rank & Sort Loss of the RoI head.

        Returns:
            dict: ``loss_mask`` (a dict with ``loss_mask``) and
            ``mask_targets`` (p, h, w).
        """
        if positive_weights is None or loss_cls is None:
            raise ValueError(
                'RankSortMaskHead: positive_weights and loss_cls are needed '
                '(the RoI head must be imbalance_plugin.RankSortRoIHead)')
        mask_targets = mask_target(
            [res.pos_priors for res in sampling_results],
            [res.pos_assigned_gt_inds for res in sampling_results],
            [gt.masks for gt in batch_gt_instances], rcnn_train_cfg)
        labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        loss = self.loss(mask_preds, mask_targets, labels, positive_weights,
                         loss_cls)
        return dict(loss_mask=dict(loss_mask=loss), mask_targets=mask_targets)
