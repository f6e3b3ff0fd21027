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
from mmdet.structures.bbox import bbox2roi, get_box_tensor

from imbalance_plugin.functional.pisa import carl_loss, carl_weights
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
from imbalance_plugin.heads.pooled_roi_features import (
    attach_roi_align_grad,
    pool_rois,
    supports_pooled_reuse,
)
from imbalance_plugin.losses.unreduced_loss import preserved_buffers
from imbalance_plugin.registry import MODELS
from imbalance_plugin.samplers import ScoreHLRSampler


@MODELS.register_module()
class PISARoIHead(StandardRoIHead):
    """StandardRoIHead with ISR-P (``train_cfg.isr``), CARL
    (``train_cfg.carl``) and the Score-HLR sampler's negative weights."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pisa_cfg = pisa_cfg(self.train_cfg, type(self).__name__)

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
        neg_label_weights = neg_label_weights or [None] * num_imgs
        neg_pooled = neg_pooled or [None] * num_imgs
        rois, bbox_feats = self._bbox_feats(x, sampling_results, neg_pooled)
        cls_score, bbox_pred = self._head_forward(bbox_feats)
        bbox_results = dict(
            cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)
        labels, label_weights, bbox_targets, bbox_weights = \
            self.bbox_head.get_targets(sampling_results, self.train_cfg)

        num_classes = self.bbox_head.num_classes
        pisa_weights = {}
        if any(w is not None for w in neg_label_weights):
            label_weights = label_weights.clone()
            start = 0
            for res, weights in zip(sampling_results, neg_label_weights):
                num_pos, num_neg = res.pos_inds.numel(), res.neg_inds.numel()
                if weights is not None:
                    label_weights[start + num_pos:start + num_pos +
                                  num_neg] = weights
                start += num_pos + num_neg
            pisa_weights['isr_n'] = weights_where(labels == num_classes,
                                                  label_weights)

        isr_cfg = self.pisa_cfg['isr']
        if isr_cfg is not None:
            # bbox_head.loss computes the classification loss (and its
            # accuracy) itself: ISR-P calls loss_cls once more on the
            # positives, a small call over the sampled RoIs.
            head = self.bbox_head
            pos_inds = positive_indices(labels, num_classes)
            label_weights = isr_p_label_weights(
                pos_inds,
                positives_loss(head.loss_cls, cls_score, labels, pos_inds),
                bbox_pred, rois[:, 1:], labels, label_weights, bbox_targets,
                gt_groups_of(sampling_results), head.bbox_coder,
                head.reg_decoded_bbox, **isr_cfg)
            pisa_weights['isr_p'] = weights_where(
                (labels >= 0) & (labels < num_classes), label_weights)

        loss_bbox = self.bbox_head.loss(cls_score, bbox_pred, rois, labels,
                                        label_weights, bbox_targets,
                                        bbox_weights)

        carl_cfg = self.pisa_cfg['carl']
        if carl_cfg is not None:
            pos_inds = positive_indices(labels, num_classes)
            pos_labels = labels[pos_inds]
            loss_fn = self.bbox_head.loss_bbox
            with preserved_buffers(loss_fn):
                reg_loss = loss_fn(
                    self._pos_boxes(bbox_pred, rois, pos_inds, pos_labels,
                                    decode=self.bbox_head.reg_decoded_bbox),
                    bbox_targets[pos_inds],
                    reduction_override='none')
            scores = class_probability(
                cls_score[pos_inds], pos_labels,
                getattr(self.bbox_head.loss_cls, 'use_sigmoid', False))
            loss_bbox['loss_carl'] = carl_loss(scores, reg_loss,
                                               bbox_targets.size(0),
                                               **carl_cfg)
            pisa_weights['carl'] = carl_weights(scores.detach(), **carl_cfg)
        setattr(self, PISA_WEIGHTS_ATTRIBUTE, pisa_weights)
        bbox_results.update(loss_bbox=loss_bbox)
        return bbox_results

    def _pos_boxes(self, bbox_pred, rois, pos_inds, pos_labels, decode):
        """Predicted deltas (decoded boxes if ``decode``) of the positives'
        own classes."""
        if bbox_pred.size(-1) > 4:
            per_class = bbox_pred.view(bbox_pred.size(0),
                                       bbox_pred.size(1) // 4, 4)
            pred = per_class[pos_inds, pos_labels]
        else:
            pred = bbox_pred[pos_inds]
        if decode:
            pred = get_box_tensor(
                self.bbox_head.bbox_coder.decode(rois[pos_inds, 1:], pred))
        return pred
