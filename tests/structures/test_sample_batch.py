"""dense_batch: every anchor of every image as a row, image after image, in
the order of mmdet's anchors and targets, for heads with the same anchors at
every level (RetinaNet) and with different ones (SSD)."""
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from imbalance_plugin.structures.sample_batch import dense_batch

NUM_CLASSES = 3
STRIDES = [8, 16]
IMG = 64
TRAIN_CFG = dict(
    assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                  min_pos_iou=0., ignore_iof_thr=-1),
    sampler=dict(type='PseudoSampler'),
    allowed_border=-1, pos_weight=-1, smoothl1_beta=1., neg_pos_ratio=3,
    debug=False)
HEADS = {
    'retina': dict(
        type='RetinaHead', in_channels=4, feat_channels=4, stacked_convs=1,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=2,
                              scales_per_octave=2, ratios=[0.5, 1.0],
                              strides=STRIDES)),
    # 4 anchors per position on the first level, 6 on the second.
    'ssd': dict(
        type='SSDHead', in_channels=(4, 4),
        anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                              strides=STRIDES, ratios=[[2], [2, 3]],
                              min_sizes=[16, 32], max_sizes=[32, 64])),
}


def build(kind):
    init_default_scope('mmdet')
    return MODELS.build(dict(HEADS[kind], num_classes=NUM_CLASSES,
                             train_cfg=ConfigDict(TRAIN_CFG)))


def random_inputs(head, num_imgs=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    per_level = head.prior_generator.num_base_priors
    shapes = [(IMG // s, IMG // s) for s in STRIDES]
    cls_scores = [
        torch.randn(num_imgs, a * head.cls_out_channels, *hw, generator=g)
        for a, hw in zip(per_level, shapes)
    ]
    bbox_preds = [
        torch.randn(num_imgs, a * 4, *hw, generator=g)
        for a, hw in zip(per_level, shapes)
    ]
    gts = []
    for _ in range(num_imgs):
        xy = torch.rand(3, 2, generator=g) * 40
        wh = torch.rand(3, 2, generator=g) * 16 + 12
        gts.append(InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                labels=torch.randint(NUM_CLASSES, (3, ),
                                                     generator=g)))
    metas = [dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG))] * num_imgs
    return cls_scores, bbox_preds, gts, metas


def image_rows(levels, num_imgs, width):
    """Each image's levels, position by position, anchor by anchor."""
    return torch.cat([
        level.permute(0, 2, 3, 1).reshape(num_imgs, -1, width)
        for level in levels
    ], 1).reshape(-1, width)


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_rows_follow_mmdet_anchors_and_targets(kind):
    head = build(kind)
    cls_scores, bbox_preds, gts, metas = random_inputs(head)
    batch = dense_batch(head, cls_scores, bbox_preds, gts, metas)

    anchors, flags = head.get_anchors([c.shape[-2:] for c in cls_scores],
                                      metas, device='cpu')
    labels, label_weights, bbox_targets, bbox_weights, avg_factor = \
        head.get_targets(anchors, flags, gts, metas)
    assert torch.equal(batch.cls_score,
                       image_rows(cls_scores, 2, head.cls_out_channels))
    assert torch.equal(batch.bbox_pred, image_rows(bbox_preds, 2, 4))
    assert torch.equal(batch.priors,
                       torch.cat([torch.cat(levels) for levels in anchors]))
    assert torch.equal(batch.labels, torch.cat(labels, 1).reshape(-1))
    assert torch.equal(batch.label_weights,
                       torch.cat(label_weights, 1).reshape(-1))
    assert torch.equal(batch.bbox_targets,
                       torch.cat(bbox_targets, 1).reshape(-1, 4))
    assert torch.equal(batch.bbox_weights,
                       torch.cat(bbox_weights, 1).reshape(-1, 4))
    assert batch.avg_factor == avg_factor
    assert len(batch.sampling_results) == 2


def test_positives_found_once():
    head = build('retina')
    batch = dense_batch(head, *random_inputs(head))
    positive = batch.labels < NUM_CLASSES
    assert positive.any() and torch.equal(batch.positive, positive)
    assert torch.equal(batch.pos_inds, positive.nonzero().view(-1))
    assert batch.pos_inds is batch.pos_inds
