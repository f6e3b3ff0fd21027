"""Collects the classification ``g`` and the regression residuals of every
valid anchor of a single-stage detector over a few images.

The head runs forward on each batch, and its own ``get_anchors`` and
``get_targets`` (mmdet's ``AnchorHead``) give each anchor its label, label
weight and regression target, exactly the inputs of ``loss_cls`` and
``loss_bbox`` in ``loss_by_feat``
(:func:`~imbalance_plugin.structures.sample_batch.dense_batch`). An anchor
is valid when its label weight is positive (an ignored anchor, between the
assigner's IoU thresholds, is not); a regression coordinate is valid when
its box weight is positive (the positives).
"""
from dataclasses import dataclass
from typing import Iterable, List

import torch
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.utils import unpack_gt_instances
from torch import Tensor

from ..structures.box_decoding import regression_input
from ..structures.sample_batch import dense_batch
from .gradient_norms import sigmoid_classification_g, softmax_classification_g


@dataclass
class GradientSample:
    """The examples of the GHM paper's figures, gathered over some images.

    Attributes:
        cls_g: (m,) classification ``g``: sigmoid heads, one per class output
            of every valid anchor (m = num_classes * num_valid_anchors);
            softmax heads, ``1 - p_y`` per valid anchor.
        cls_positive: (m,) bool, the output's target is foreground.
        reg_diff: (r,) residual prediction - target of every valid regression
            coordinate (4 per positive anchor).
        num_images, num_valid_anchors, num_positive_anchors: counts.
        num_classes: foreground classes of the head.
        use_sigmoid: the head's classifier is sigmoid.
    """
    cls_g: Tensor
    cls_positive: Tensor
    reg_diff: Tensor
    num_images: int
    num_valid_anchors: int
    num_positive_anchors: int
    num_classes: int
    use_sigmoid: bool


@torch.no_grad()
def head_gradient_sample(head: AnchorHead, cls_scores: List[Tensor],
                         bbox_preds: List[Tensor], batch_gt_instances,
                         batch_img_metas,
                         batch_gt_instances_ignore=None) -> GradientSample:
    """The :class:`GradientSample` of one batch of head outputs.

    Args:
        head: an mmdet ``AnchorHead`` (RetinaHead, PISARetinaHead, ...).
        cls_scores: per level (N, A * cls_out_channels, H, W).
        bbox_preds: per level (N, A * 4, H, W).
        batch_gt_instances, batch_img_metas, batch_gt_instances_ignore: as
            for ``head.loss_by_feat``.
    """
    batch = dense_batch(head, cls_scores, bbox_preds, batch_gt_instances,
                        batch_img_metas, batch_gt_instances_ignore)
    classification_g = sigmoid_classification_g if head.use_sigmoid_cls \
        else softmax_classification_g
    cls_g, positive = classification_g(batch.cls_score, batch.labels,
                                       batch.label_weights)
    bbox_pred = regression_input(head, batch.priors, batch.bbox_pred)
    reg_valid = batch.bbox_weights > 0
    reg_diff = (bbox_pred.float() - batch.bbox_targets.float())[reg_valid]
    return GradientSample(
        cls_g=cls_g,
        cls_positive=positive,
        reg_diff=reg_diff,
        num_images=len(batch_img_metas),
        num_valid_anchors=int((batch.label_weights > 0).sum()),
        num_positive_anchors=int(reg_valid.any(-1).sum()),
        num_classes=head.num_classes,
        use_sigmoid=bool(head.use_sigmoid_cls))


def concat_samples(samples: List[GradientSample]) -> GradientSample:
    """One :class:`GradientSample` holding the examples of all ``samples``."""
    if not samples:
        raise ValueError('samples must hold at least one GradientSample')
    first = samples[0]
    return GradientSample(
        cls_g=torch.cat([s.cls_g for s in samples]),
        cls_positive=torch.cat([s.cls_positive for s in samples]),
        reg_diff=torch.cat([s.reg_diff for s in samples]),
        num_images=sum(s.num_images for s in samples),
        num_valid_anchors=sum(s.num_valid_anchors for s in samples),
        num_positive_anchors=sum(s.num_positive_anchors for s in samples),
        num_classes=first.num_classes,
        use_sigmoid=first.use_sigmoid)


def detector_head(model) -> AnchorHead:
    """The anchor head of a single-stage detector, or ValueError."""
    head = getattr(model, 'bbox_head', None)
    if not isinstance(head, AnchorHead):
        raise ValueError(
            'model must be a single-stage detector whose bbox_head is an '
            'mmdet AnchorHead (RetinaHead, PISARetinaHead, ...); got '
            f'{type(model).__name__} with bbox_head '
            f'{type(head).__name__}')
    return head


@torch.no_grad()
def collect_gradient_sample(model, batches: Iterable) -> GradientSample:
    """Runs ``model`` (training-mode forward, no gradient) on ``batches``
    (collated data dicts, as a dataloader yields them) and gathers the
    :class:`GradientSample` of its anchor head over all of them."""
    head = detector_head(model)
    samples = []
    for batch in batches:
        data = model.data_preprocessor(batch, training=True)
        feats = model.extract_feat(data['inputs'])
        cls_scores, bbox_preds = head(feats)
        gt_instances, gt_ignore, img_metas = unpack_gt_instances(
            data['data_samples'])
        samples.append(
            head_gradient_sample(head, cls_scores, bbox_preds, gt_instances,
                                 img_metas, gt_ignore))
    return concat_samples(samples)
