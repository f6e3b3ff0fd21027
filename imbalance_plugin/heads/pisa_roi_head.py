"""Faster R-CNN RoI head with PISA: ISR-P, ISR-N and CARL (Cao et al., 2020).

Each part switches on its own in ``train_cfg.rcnn``, as in mmdet's configs::

    rcnn=dict(
        sampler=dict(type='imbalance_plugin.ScoreHLRSampler', num=512,
                     pos_fraction=0.25, k=0.5, bias=0.),   # ISR-N
        isr=dict(k=2., bias=0.),                          # ISR-P
        carl=dict(k=1., bias=0.2))                        # CARL

ISR-N is the sampler: with any other sampler (``RandomSampler``) the
negatives keep weight 1. Leaving ``isr`` or ``carl`` out switches those off.

With the plugin's ``ScoreHLRSampler`` the head scores the negatives itself and
keeps their pooled RoI features: the sampled ones are not pooled again for
the loss, their gradient comes from RoIAlign's backward over the sampled RoIs
(:mod:`imbalance_plugin.heads.pooled_roi_features`). Losses and gradients
are those of pooling twice, as mmdet's ``PISARoIHead`` does.
"""
import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures.bbox import bbox2roi

from imbalance_plugin.heads.pisa_common import (
    PISASettings,
    carl,
    isr_p,
    log_pisa_weights,
    weights_where,
)
from imbalance_plugin.heads.pooled_roi_features import (
    attach_roi_align_grad,
    pool_rois,
    supports_pooled_reuse,
)
from imbalance_plugin.registry import MODELS
from imbalance_plugin.samplers import ScoreHLRSampler
from imbalance_plugin.structures.sample_batch import SampleBatch


@MODELS.register_module()
class PISARoIHead(StandardRoIHead):
    """StandardRoIHead with ISR-P (``train_cfg.isr``), CARL
    (``train_cfg.carl``) and the Score-HLR sampler's negative weights."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pisa = PISASettings.from_train_cfg(
            self.train_cfg, f'{type(self).__name__}.train_cfg')

    def loss(self, x, rpn_results_list, batch_data_samples):
        """Assigns and samples the proposals, returns the RoI losses.

        Args:
            x (tuple[Tensor]): multi-level features, each (N, C, H, W).
            rpn_results_list (list[InstanceData]): proposals per image.
            batch_data_samples (list[DetDataSample]): ground truths.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``acc``, ``loss_bbox`` and, with
            CARL, ``loss_carl`` (plus mask losses with a mask head).
        """
        batch_gt_instances, batch_gt_instances_ignore, _ = \
            unpack_gt_instances(batch_data_samples)
        score_hlr = isinstance(self.bbox_sampler, ScoreHLRSampler)
        sampling_results, neg_weights, neg_pooled = [], [], []
        for i, rpn_results in enumerate(rpn_results_list):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(
                rpn_results, batch_gt_instances[i],
                batch_gt_instances_ignore[i])
            feats = [lvl_feat[i][None] for lvl_feat in x]
            pooled = None
            if score_hlr:
                result, weights, pooled = self._score_hlr_sample(
                    assign_result, rpn_results, batch_gt_instances[i], feats)
            else:
                result = self.bbox_sampler.sample(
                    assign_result,
                    rpn_results,
                    batch_gt_instances[i],
                    feats=feats)
                result, weights = result if isinstance(result, tuple) else (
                    result, None)
            sampling_results.append(result)
            neg_weights.append(weights)
            neg_pooled.append(pooled)

        losses = dict()
        if self.with_bbox:
            bbox_results = self.bbox_loss(x, sampling_results, neg_weights,
                                          neg_pooled)
            losses.update(bbox_results['loss_bbox'])
        if self.with_mask:
            mask_results = self.mask_loss(x, sampling_results,
                                          bbox_results['bbox_feats'],
                                          batch_gt_instances)
            losses.update(mask_results['loss_mask'])
        return losses

    def _head_forward(self, bbox_feats):
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        return self.bbox_head(bbox_feats)

    def _score_hlr_sample(self, assign_result, rpn_results, gt_instances,
                          feats):
        """Score-HLR sampling of one image, the negatives scored by this
        head, their pooled features kept.

        Returns:
            tuple: SamplingResult, the negatives' weights, and their pooled
            features (None when they cannot be reused).
        """
        extractor = self.bbox_roi_extractor
        feats = feats[:extractor.num_inputs]
        reuse = supports_pooled_reuse(extractor)
        pooled = []

        def score_negatives(neg_priors):
            rois = bbox2roi([neg_priors])
            pooled.append(pool_rois(extractor, feats, rois) if reuse else
                          extractor(feats, rois))
            return self._head_forward(pooled[0])

        result, weights = self.bbox_sampler.sample(
            assign_result, rpn_results, gt_instances,
            score_negatives=score_negatives, bbox_head=self.bbox_head)
        if not (reuse and pooled):
            return result, weights, None
        # The sampler scored the negative candidates in index order: a
        # sampled negative's row is the count of negatives before it.
        row = (assign_result.gt_inds == 0).cumsum(0) - 1
        return result, weights, pooled[0][row[result.neg_inds]]

    def _bbox_feats(self, x, sampling_results, neg_pooled):
        """RoI features of the sampled RoIs, reusing the pooled negatives."""
        extractor = self.bbox_roi_extractor
        feats = x[:extractor.num_inputs]
        rois = bbox2roi([res.priors for res in sampling_results])
        reusable = all(
            pooled is not None or res.neg_inds.numel() == 0
            for pooled, res in zip(neg_pooled, sampling_results))
        if not (reusable and supports_pooled_reuse(extractor)):
            return rois, extractor(feats, rois)
        with torch.no_grad():
            pos_pooled = pool_rois(
                extractor, feats,
                bbox2roi([res.pos_priors for res in sampling_results]))
        pieces, start = [], 0
        for res, neg in zip(sampling_results, neg_pooled):
            num_pos = res.pos_priors.size(0)
            pieces.append(pos_pooled[start:start + num_pos])
            start += num_pos
            if neg is not None:
                pieces.append(neg)
        return rois, attach_roi_align_grad(torch.cat(pieces), rois, extractor,
                                           feats)

    def bbox_loss(self, x, sampling_results, neg_label_weights=None,
                  neg_pooled=None):
        """Bbox-head forward and losses with ISR-N weights, ISR-P and CARL.

        Args:
            x (tuple[Tensor]): multi-level features.
            sampling_results (list[SamplingResult]): per image.
            neg_label_weights (list[Tensor or None], optional): ISR-N weights
                of each image's negatives.
            neg_pooled (list[Tensor or None], optional): pooled features of
                each image's sampled negatives, to reuse.

        Returns:
            dict: ``cls_score``, ``bbox_pred``, ``bbox_feats``, ``loss_bbox``.
        """
        num_imgs = len(sampling_results)
        neg_pooled = neg_pooled or [None] * num_imgs
        rois, bbox_feats = self._bbox_feats(x, sampling_results, neg_pooled)
        cls_score, bbox_pred = self._head_forward(bbox_feats)
        head = self.bbox_head
        labels, label_weights, bbox_targets, bbox_weights = head.get_targets(
            sampling_results, self.train_cfg)
        label_weights, isr_n_weights = isr_n_label_weights(
            labels, label_weights, sampling_results, neg_label_weights,
            head.num_classes)
        batch = SampleBatch(
            cls_score=cls_score,
            bbox_pred=bbox_pred,
            priors=rois[:, 1:],
            labels=labels,
            label_weights=label_weights,
            bbox_targets=bbox_targets,
            bbox_weights=bbox_weights,
            avg_factor=bbox_targets.size(0),
            sampling_results=sampling_results,
            num_classes=head.num_classes)

        label_weights, isr_p_weights = isr_p(batch, head, self.pisa.isr)
        loss_bbox = head.loss(cls_score, bbox_pred, rois, labels,
                              label_weights, bbox_targets, bbox_weights)
        carl_losses, carl_weights = carl(batch, head, self.pisa.carl)
        loss_bbox.update(carl_losses)
        log_pisa_weights(self, isr_p=isr_p_weights, isr_n=isr_n_weights,
                         carl=carl_weights)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred,
                    bbox_feats=bbox_feats, loss_bbox=loss_bbox)


def isr_n_label_weights(labels, label_weights, sampling_results, neg_weights,
                        num_classes):
    """The label weights with the Score-HLR sampler's weights of each
    image's negatives (rows image after image, each image's positives
    first).

    Args:
        labels, label_weights (Tensor): (n,) the sampled RoIs' targets.
        sampling_results (list[SamplingResult]): per image.
        neg_weights (list[Tensor or None] or None): per image, the (m_i,)
            weights of its negatives, None where its sampler gave none.
        num_classes (int): C, the background label.

    Returns:
        tuple[Tensor, Tensor or None]: the (n,) label weights and the
        weights to log, NaN but at the negatives (None with no weights).
    """
    if not any(weights is not None for weights in neg_weights or ()):
        return label_weights, None
    label_weights = label_weights.clone()
    start = 0
    for res, weights in zip(sampling_results, neg_weights):
        num_pos, num_neg = res.pos_inds.numel(), res.neg_inds.numel()
        if weights is not None:
            label_weights[start + num_pos:start + num_pos + num_neg] = weights
        start += num_pos + num_neg
    return label_weights, weights_where(labels == num_classes, label_weights)
