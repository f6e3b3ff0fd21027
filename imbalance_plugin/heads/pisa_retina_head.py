"""RetinaNet head with PISA's ISR-P and CARL (Cao et al., CVPR 2020).

Settings live in the detector's ``train_cfg`` as in mmdet's PISA configs;
leaving one out switches that part off::

    train_cfg=dict(..., isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))

* ``isr``: positives' classification weights become the ISR-P weights
  (IoU-HLR mapped by ``(bias + (1 - bias) * u) ** k``), rescaled so their
  classification loss sum is unchanged; computed without gradient. With an
  element-wise ``loss_cls`` (mmdet's Focal and cross-entropy, the plugin's
  Focal) the loss is computed once, unreduced, and ISR-P reads the
  positives' loss from it; other losses (GHM-C) are called once more on the
  positives.
* ``carl``: adds ``loss_carl``, the positives' regression loss weighted by
  the map of their classification score (gradient reaches the classifier).

Any classification loss works (sigmoid or softmax): ISR-P renormalises with
the head's own ``loss_cls``; CARL uses the head's own ``loss_bbox``.
"""
import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.structures.bbox import get_box_tensor

from imbalance_plugin.functional.pisa import (carl_loss, carl_weights,
                                              check_power_map)
from imbalance_plugin.heads.elementwise_loss import (is_elementwise,
                                                      weighted_mean)
from imbalance_plugin.heads.isr_p import (isr_p_label_weights,
                                          positive_indices, positives_loss)
from imbalance_plugin.heads.unreduced_loss import preserved_buffers
from imbalance_plugin.registry import MODELS


def check_pisa_cfg(train_cfg, owner):
    """Validates ``train_cfg.isr`` and ``train_cfg.carl`` (k >= 0, bias in
    [0, 1), no other keys) at build time."""
    if not train_cfg:
        return
    for part in ('isr', 'carl'):
        cfg = train_cfg.get(part, None)
        if cfg is None:
            continue
        unknown = set(cfg) - {'k', 'bias'}
        if unknown:
            raise ValueError(f'{owner}: train_cfg.{part} accepts only k and '
                             f'bias, got {sorted(unknown)}')
        defaults = dict(isr=(2., 0.), carl=(1., 0.2))[part]
        check_power_map(
            cfg.get('k', defaults[0]), cfg.get('bias', defaults[1]),
            f'train_cfg.{part}')


def pisa_part(train_cfg, part):
    """``dict(k=..., bias=...)`` of ``part`` ('isr' or 'carl'), or None."""
    cfg = train_cfg.get(part, None) if train_cfg else None
    if cfg is None:
        return None
    defaults = dict(isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))[part]
    return {**defaults, **cfg}


def weights_where(mask, weights):
    """``weights`` where ``mask`` holds, NaN elsewhere, detached.

    The heads keep their last ISR-P, ISR-N and CARL weights in this form in
    ``last_pisa_weights`` (a dict keyed 'isr_p', 'isr_n', 'carl'), where
    :class:`~imbalance_plugin.hooks.gradient_density_hook.GradientDensityHook`
    reads them; NaN marks the elements a part does not weight, so no
    data-dependent indexing (and no host sync) is needed.
    """
    return torch.where(mask, weights, float('nan')).detach()


def class_probability(cls_score, labels, use_sigmoid):
    """Probability of each row's ``labels`` class, (n,)."""
    probs = cls_score.sigmoid() if use_sigmoid else cls_score.softmax(-1)
    return probs.gather(1, labels[:, None]).squeeze(1)


def gt_groups_of(sampling_results):
    """Batch-unique ground-truth id of each positive, image after image."""
    groups, offset = [], 0
    for result in sampling_results:
        groups.append(result.pos_assigned_gt_inds + offset)
        offset += result.num_gts
    return torch.cat(groups)


@MODELS.register_module()
class PISARetinaHead(RetinaHead):
    """RetinaHead whose loss applies ISR-P (``train_cfg.isr``) and CARL
    (``train_cfg.carl``); the rest is RetinaNet's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        check_pisa_cfg(self.train_cfg, type(self).__name__)

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
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=device)
        targets = self.get_targets(
            anchor_list,
            valid_flag_list,
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore,
            return_sampling_results=True)
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list,
         avg_factor, sampling_results) = targets

        num_imgs = len(batch_img_metas)
        channels = self.cls_out_channels
        cls_score = torch.cat([
            s.permute(0, 2, 3, 1).reshape(num_imgs, -1, channels)
            for s in cls_scores
        ], 1).reshape(-1, channels)
        bbox_pred = torch.cat([
            p.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) for p in bbox_preds
        ], 1).reshape(-1, 4)
        anchors = torch.cat(
            [get_box_tensor(torch.cat(levels)) for levels in anchor_list])
        labels = torch.cat(labels_list, 1).reshape(-1)
        label_weights = torch.cat(label_weights_list, 1).reshape(-1)
        bbox_targets = torch.cat(bbox_targets_list, 1).reshape(-1, 4)
        bbox_weights = torch.cat(bbox_weights_list, 1).reshape(-1, 4)

        pos_inds = positive_indices(labels, self.num_classes)
        pisa_weights = {}
        isr_cfg = pisa_part(self.train_cfg, 'isr')
        if isr_cfg is not None:
            loss_cls, label_weights = self._loss_cls_with_isr_p(
                cls_score, bbox_pred, anchors, labels, label_weights,
                bbox_targets, avg_factor, pos_inds,
                gt_groups_of(sampling_results), isr_cfg)
            pisa_weights['isr_p'] = weights_where(
                (labels >= 0) & (labels < self.num_classes), label_weights)
        else:
            loss_cls = self.loss_cls(
                cls_score, labels, label_weights, avg_factor=avg_factor)
        losses = dict(
            loss_cls=loss_cls,
            loss_bbox=self._regression_loss(
                bbox_pred, anchors, bbox_targets, bbox_weights, avg_factor))

        carl_cfg = pisa_part(self.train_cfg, 'carl')
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
        self.last_pisa_weights = pisa_weights
        return losses

    def _loss_cls_with_isr_p(self, cls_score, bbox_pred, anchors, labels,
                             label_weights, bbox_targets, avg_factor,
                             pos_inds, gt_groups, isr_cfg):
        """Classification loss with ISR-P label weights, and those weights.

        An element-wise ``loss_cls`` is called once, unreduced: ISR-P reads
        the positives' rows, the loss is then weighted and reduced. Any other
        loss is called once more on the positives for ISR-P.

        Returns:
            tuple[Tensor, Tensor]: the loss and the (n,) label weights.
        """
        elementwise = is_elementwise(self.loss_cls)
        if elementwise:
            unreduced = self.loss_cls(cls_score, labels,
                                      reduction_override='none')
            pos_loss = unreduced.detach().index_select(0, pos_inds)
        else:
            pos_loss = positives_loss(self.loss_cls, cls_score, labels,
                                      pos_inds)
        label_weights = isr_p_label_weights(
            pos_inds, pos_loss, bbox_pred, anchors, labels, label_weights,
            bbox_targets, gt_groups, self.bbox_coder, self.reg_decoded_bbox,
            **isr_cfg)
        if elementwise:
            return weighted_mean(unreduced, label_weights,
                                 avg_factor), label_weights
        return self.loss_cls(cls_score, labels, label_weights,
                             avg_factor=avg_factor), label_weights

    def _regression_loss(self, bbox_pred, anchors, bbox_targets, bbox_weights,
                         avg_factor):
        if self.reg_decoded_bbox:
            bbox_pred = get_box_tensor(
                self.bbox_coder.decode(anchors, bbox_pred))
        return self.loss_bbox(
            bbox_pred, bbox_targets, bbox_weights, avg_factor=avg_factor)
