r"""The RoI head of RS-Mask R-CNN (Oksuz et al., ICCV 2021; the authors'
``RankBasedStandardRoIHead``): mmdet's ``StandardRoIHead`` whose mask head
is weighted and balanced as the box loss is.

* the box head, ``imbalance_plugin.RankSortBBoxHead``, ranks every RoI of
  the batch (Rank & Sort Loss :math:`L_{RS}`) and gives the positives'
  balanced, score-weighted GIoU loss;
* the mask head, ``imbalance_plugin.RankSortMaskHead``, gets the same
  per-positive weights :math:`w_i = \max_c \sigma(s_{ic})` (detached) and
  the value of :math:`L_{RS}`, and returns its weighted Dice loss times
  :math:`\lambda = L_{RS} / L_{mask}`
  (:mod:`imbalance_plugin.heads.rank_sort_mask_head`);
* with ``max_mask_rois`` the mask head trains on at most that many
  positives of the batch, drawn uniformly at random (their weights with
  them): without sampling a batch has hundreds of positives per image and
  the authors cap the mask branch at 200.
"""
from types import SimpleNamespace

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures.bbox import bbox2roi

from imbalance_plugin.heads.rank_sort_bbox_head import RankSortBBoxHead
from imbalance_plugin.heads.rank_sort_common import positive_score_weights
from imbalance_plugin.heads.rank_sort_mask_head import RankSortMaskHead
from imbalance_plugin.registry import MODELS
from imbalance_plugin.utils.settings import check_int, check_optional


def positive_rows(sampling_results, device):
    """(p,) int64 rows of the positives among the RoIs of the batch, image
    after image: mmdet puts each image's positives first in its block of
    ``len(res.priors)`` rows. From the results' sizes only (no host read).
    """
    rows, start = [], 0
    for res in sampling_results:
        rows.append(torch.arange(start, start + len(res.pos_priors),
                                 device=device))
        start += len(res.priors)
    return torch.cat(rows)


def subset_positives(sampling_results, chosen):
    """The positives ``chosen`` (ascending (k,) CPU indices into the
    positives of the batch, image after image) as one namespace per image
    with ``pos_priors``, ``pos_assigned_gt_inds`` and ``pos_gt_labels``."""
    subsets, start = [], 0
    for res in sampling_results:
        count = len(res.pos_priors)
        local = chosen[(chosen >= start) & (chosen < start + count)] - start
        local = local.to(res.pos_priors.device, non_blocking=True)
        subsets.append(SimpleNamespace(
            pos_priors=res.pos_priors[local],
            pos_assigned_gt_inds=res.pos_assigned_gt_inds[local],
            pos_gt_labels=res.pos_gt_labels[local]))
        start += count
    return subsets


@MODELS.register_module()
class RankSortRoIHead(StandardRoIHead):
    """StandardRoIHead that hands the mask head the box loss's per-positive
    weights and the Rank & Sort Loss value,
    ``type='imbalance_plugin.RankSortRoIHead'``.

    Args:
        max_mask_rois (int, optional): the most positives of the batch the
            mask head trains on, >= 1, or None (every positive; default).
            The authors': 200 per batch of a process.
        **kwargs: as ``StandardRoIHead``'s. ``bbox_head`` must be
            ``imbalance_plugin.RankSortBBoxHead``; ``mask_head``, where
            given, ``imbalance_plugin.RankSortMaskHead``.
    """

    def __init__(self, max_mask_rois=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(getattr(self, 'bbox_head', None), RankSortBBoxHead):
            raise ValueError(
                'RankSortRoIHead: bbox_head must be imbalance_plugin.'
                'RankSortBBoxHead (its weights and Rank & Sort Loss balance '
                'the mask loss), got '
                f'{type(getattr(self, "bbox_head", None)).__name__}')
        if self.with_mask and not isinstance(self.mask_head,
                                             RankSortMaskHead):
            raise ValueError(
                'RankSortRoIHead: mask_head must be imbalance_plugin.'
                'RankSortMaskHead (or None), got '
                f'{type(self.mask_head).__name__}')
        self.max_mask_rois = check_optional(
            check_int, max_mask_rois, 'RankSortRoIHead: max_mask_rois',
            'every positive', low=1)

    def loss(self, x, rpn_results_list, batch_data_samples):
        """Assigns and samples the proposals, returns the RoI losses.

        Args:
            x (tuple[Tensor]): multi-level features, each (N, C, H, W).
            rpn_results_list (list[InstanceData]): proposals per image.
            batch_data_samples (list[DetDataSample]): ground truths (with
                ``masks`` for a mask head).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox`` and, with a mask
            head, ``loss_mask``.
        """
        batch_gt_instances, batch_gt_instances_ignore, _ = \
            unpack_gt_instances(batch_data_samples)
        sampling_results = []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assigned = self.bbox_assigner.assign(
                rpn_results, batch_gt_instances[i],
                batch_gt_instances_ignore[i])
            sampling_results.append(self.bbox_sampler.sample(
                assigned, rpn_results, batch_gt_instances[i],
                feats=[level[i][None] for level in x]))

        bbox_results = self.bbox_loss(x, sampling_results)
        losses = dict(bbox_results['loss_bbox'])
        if self.with_mask:
            cls_score = bbox_results['cls_score']
            weights = positive_score_weights(
                cls_score, positive_rows(sampling_results, cls_score.device))
            mask_results = self.mask_loss(
                x, sampling_results, bbox_results['bbox_feats'],
                batch_gt_instances, weights, losses['loss_cls'])
            losses.update(mask_results['loss_mask'])
        return losses

    def mask_loss(self, x, sampling_results, bbox_feats, batch_gt_instances,
                  positive_weights=None, loss_cls=None):
        """Mask-head forward and its balanced, weighted Dice loss.

        Args:
            x (tuple[Tensor]): multi-level features.
            sampling_results (list[SamplingResult]): per image.
            bbox_feats (Tensor): (n, ...) RoI features of the box head.
            batch_gt_instances (list[InstanceData]): with ``masks``.
            positive_weights (Tensor): (p,) weights of the batch's
                positives, image after image.
            loss_cls (Tensor): 0-d Rank & Sort Loss of the box head.

        Returns:
            dict: ``mask_preds``, ``mask_feats``, ``loss_mask``.
        """
        rows = positive_rows(sampling_results, bbox_feats.device)
        positives = sampling_results
        total = rows.numel()
        if self.max_mask_rois is not None and total > self.max_mask_rois:
            chosen = torch.randperm(total)[:self.max_mask_rois].sort().values
            positives = subset_positives(sampling_results, chosen)
            chosen = chosen.to(rows.device, non_blocking=True)
            rows = rows[chosen]
            positive_weights = positive_weights[chosen]
        if self.share_roi_extractor:
            mask_results = self._mask_forward(x, pos_inds=rows,
                                              bbox_feats=bbox_feats)
        else:
            mask_results = self._mask_forward(
                x, bbox2roi([res.pos_priors for res in positives]))
        loss_and_target = self.mask_head.loss_and_target(
            mask_preds=mask_results['mask_preds'],
            sampling_results=positives,
            batch_gt_instances=batch_gt_instances,
            rcnn_train_cfg=self.train_cfg,
            positive_weights=positive_weights,
            loss_cls=loss_cls)
        mask_results.update(loss_mask=loss_and_target['loss_mask'])
        return mask_results
