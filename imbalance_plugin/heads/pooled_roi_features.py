"""Reuse RoI features pooled without gradient, with RoIAlign's gradient.

Score-HLR pools every negative candidate once to score it. The sampled ones
are needed again, with gradient, for the loss. Pooling them a second time
(what mmdet does) repeats RoIAlign's forward over them.
:func:`attach_roi_align_grad` instead returns the features already pooled and
gives them the backward of the RoI extractor: mmcv's RoIAlign backward kernel
over exactly the selected RoIs, level by level, so the feature-map gradients
equal those of a second pooling.

Only for :class:`SingleRoIExtractor` with mmcv ``RoIAlign`` layers in 'avg'
mode (the Faster R-CNN default); :func:`supports_pooled_reuse` tells.
"""
import torch
from mmcv.ops import RoIAlign
from mmcv.ops.roi_align import ext_module
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from torch.autograd.function import once_differentiable


def supports_pooled_reuse(extractor):
    """Whether :func:`attach_roi_align_grad` reproduces ``extractor``."""
    return type(extractor) is SingleRoIExtractor and all(
        type(layer) is RoIAlign and layer.pool_mode == 'avg'
        and not layer.use_torchvision for layer in extractor.roi_layers)


def roi_level_of(extractor, rois, num_levels):
    """Feature level (0-based) each RoI is pooled from, (n,) int64."""
    if num_levels == 1:
        return rois.new_zeros(rois.size(0), dtype=torch.long)
    return extractor.map_roi_levels(rois, num_levels)


def pool_rois(extractor, feats, rois):
    """``extractor(feats, rois)`` without gradient, for a supported extractor.

    Same values as :class:`SingleRoIExtractor`'s forward, without its
    zero-filled buffer: the RoIs of each level are pooled and placed, and
    when all fall on one level the layer's output is returned as it is.
    """
    rois = rois.type_as(feats[0])
    levels = roi_level_of(extractor, rois, len(feats))
    pooled = None
    for level, feat in enumerate(feats):
        inds = (levels == level).nonzero().view(-1)
        if inds.numel() == rois.size(0):
            return extractor.roi_layers[level](feat, rois)
        if inds.numel() == 0:
            continue
        level_pooled = extractor.roi_layers[level](feat, rois[inds])
        if pooled is None:
            pooled = level_pooled.new_empty((rois.size(0), ) +
                                            level_pooled.shape[1:])
        pooled[inds] = level_pooled
    if pooled is None:
        layer = extractor.roi_layers[0]
        pooled = feats[0].new_zeros(
            (0, extractor.out_channels) + tuple(layer.output_size))
    return pooled


class _PooledRoIFeatures(torch.autograd.Function):
    """Identity on precomputed RoI features; gradient w.r.t. the feature maps
    by RoIAlign's backward."""

    @staticmethod
    def forward(ctx, pooled, rois, extractor, *feats):
        ctx.extractor = extractor
        ctx.shapes = [f.shape for f in feats]
        ctx.save_for_backward(rois)
        return pooled.view_as(pooled)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        rois, = ctx.saved_tensors
        rois = rois.type_as(grad)
        levels = roi_level_of(ctx.extractor, rois, len(ctx.shapes))
        grads = []
        for level, shape in enumerate(ctx.shapes):
            layer = ctx.extractor.roi_layers[level]
            grad_feat = grad.new_zeros(shape)
            inds = (levels == level).nonzero().view(-1)
            if inds.numel() > 0:
                empty = grad.new_zeros(0)
                ext_module.roi_align_backward(
                    grad[inds].contiguous(),
                    rois[inds],
                    empty,
                    empty,
                    grad_feat,
                    aligned_height=layer.output_size[0],
                    aligned_width=layer.output_size[1],
                    spatial_scale=layer.spatial_scale,
                    sampling_ratio=layer.sampling_ratio,
                    pool_mode=1,
                    aligned=layer.aligned)
            grads.append(grad_feat)
        return (None, None, None, *grads)


def attach_roi_align_grad(pooled, rois, extractor, feats):
    """``pooled`` as if computed by ``extractor(feats, rois)`` with gradient.

    Args:
        pooled (Tensor): (n, C, h, w) features of ``rois``, computed before
            (without gradient) by ``extractor`` on ``feats``.
        rois (Tensor): (n, 5) RoIs (batch index, x1, y1, x2, y2).
        extractor (SingleRoIExtractor): see :func:`supports_pooled_reuse`.
        feats (tuple[Tensor]): the feature maps, one per level.

    Returns:
        Tensor: ``pooled``'s values, differentiable w.r.t. ``feats``.
    """
    return _PooledRoIFeatures.apply(pooled, rois, extractor, *feats)
