"""Collects the classification ``g`` and the regression residuals of every
valid anchor of a single-stage detector over a few images.

The head runs forward on each batch, and its own ``get_anchors`` and
``get_targets`` (mmdet's ``AnchorHead``) give each anchor its label, label
weight and regression target, exactly the inputs of ``loss_cls`` and
``loss_bbox`` in ``loss_by_feat``. An anchor is valid when its label weight is
positive (an ignored anchor, between the assigner's IoU thresholds, is not);
a regression coordinate is valid when its box weight is positive (the
positives).
"""
from dataclasses import dataclass
from typing import Iterable, List

import torch
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

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


def _flatten_levels(per_level: List[Tensor], num_imgs: int,
                    channels: int) -> Tensor:
    """Head outputs (N, A * channels, H, W) per level -> (N * anchors,
    channels), in the order of the anchors and targets."""
    return torch.cat([
        level.permute(0, 2, 3, 1).reshape(num_imgs, -1, channels)
        for level in per_level
    ], 1).reshape(-1, channels)


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
    num_imgs = len(batch_img_metas)
    featmap_sizes = [score.shape[-2:] for score in cls_scores]
    anchor_list, valid_flag_list = head.get_anchors(
        featmap_sizes, batch_img_metas, device=cls_scores[0].device)
    (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list,
     _) = head.get_targets(anchor_list, valid_flag_list, batch_gt_instances,
                           batch_img_metas, batch_gt_instances_ignore)
    labels = torch.cat(labels_list, 1).reshape(-1)
    label_weights = torch.cat(label_weights_list, 1).reshape(-1)
    target_dim = bbox_targets_list[0].shape[-1]
    bbox_targets = torch.cat(bbox_targets_list, 1).reshape(-1, target_dim)
    bbox_weights = torch.cat(bbox_weights_list, 1).reshape(-1, target_dim)

    cls_score = _flatten_levels(cls_scores, num_imgs, head.cls_out_channels)
    bbox_pred = _flatten_levels(bbox_preds, num_imgs,
                                head.bbox_coder.encode_size)
    if head.reg_decoded_bbox:
        anchors = torch.cat(
            [get_box_tensor(torch.cat(levels)) for levels in anchor_list])
        bbox_pred = get_box_tensor(head.bbox_coder.decode(anchors, bbox_pred))

    if head.use_sigmoid_cls:
        cls_g, positive = sigmoid_classification_g(cls_score, labels,
                                                   label_weights)
    else:
        cls_g, positive = softmax_classification_g(cls_score, labels,
                                                   label_weights)
    reg_valid = bbox_weights > 0
    reg_diff = (bbox_pred.float() - bbox_targets.float())[reg_valid]
    return GradientSample(
        cls_g=cls_g,
        cls_positive=positive,
        reg_diff=reg_diff,
        num_images=num_imgs,
        num_valid_anchors=int((label_weights > 0).sum()),
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
