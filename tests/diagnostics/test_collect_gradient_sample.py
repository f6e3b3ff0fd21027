"""The examples collected from a RetinaHead are exactly those whose gradients
mmdet's own ``loss_by_feat`` computes (same anchors, labels and targets)."""
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from imbalance_plugin.diagnostics.collect import (
    detector_head,
    head_gradient_sample,
)

NUM_CLASSES = 3
STRIDES = (8, 16)
IMG = 64


def _head(loss_cls, loss_bbox):
    init_default_scope('mmdet')
    return MODELS.build(
        dict(
            type='RetinaHead',
            num_classes=NUM_CLASSES,
            in_channels=4,
            feat_channels=4,
            stacked_convs=1,
            anchor_generator=dict(
                type='AnchorGenerator', octave_base_scale=2,
                scales_per_octave=2, ratios=[0.5, 1.0], strides=STRIDES),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                            target_means=[.0, .0, .0, .0],
                            target_stds=[1.0, 1.0, 1.0, 1.0]),
            loss_cls=loss_cls,
            loss_bbox=loss_bbox,
            train_cfg=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                              neg_iou_thr=0.4, min_pos_iou=0,
                              ignore_iof_thr=-1),
                sampler=dict(type='PseudoSampler'),
                allowed_border=-1, pos_weight=-1, debug=False),
            init_cfg=None))


def _inputs(head, num_imgs=2, seed=0):
    torch.manual_seed(seed)
    anchors = head.num_base_priors
    cls_scores = [
        torch.randn(num_imgs, anchors * head.cls_out_channels, IMG // s,
                    IMG // s) * 2 for s in STRIDES
    ]
    bbox_preds = [
        torch.randn(num_imgs, anchors * 4, IMG // s, IMG // s) * 0.3
        for s in STRIDES
    ]
    gts, metas = [], []
    for i in range(num_imgs):
        xy = torch.rand(3, 2) * 40
        wh = torch.rand(3, 2) * 16 + 8
        gts.append(InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                labels=torch.randint(0, NUM_CLASSES, (3,))))
        metas.append(dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG),
                          batch_input_shape=(IMG, IMG)))
    return cls_scores, bbox_preds, gts, metas


def _loss_grads(head, cls_scores, bbox_preds, gts, metas):
    cls_scores = [c.clone().requires_grad_(True) for c in cls_scores]
    bbox_preds = [b.clone().requires_grad_(True) for b in bbox_preds]
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    total = sum(sum(v) for v in losses.values())
    total.backward()
    cls_grad = torch.cat([c.grad.reshape(-1) for c in cls_scores])
    reg_grad = torch.cat([b.grad.reshape(-1) for b in bbox_preds])
    return cls_grad, reg_grad


def _num_pos(head, cls_scores, gts, metas):
    featmap_sizes = [c.shape[-2:] for c in cls_scores]
    anchors, flags = head.get_anchors(featmap_sizes, metas, device='cpu')
    return head.get_targets(anchors, flags, gts, metas)[-1]


def test_sigmoid_sample_equals_mmdet_loss_gradients():
    # Sum-reduced BCE: dL/dx = (sigmoid(x) - t) / avg_factor for valid
    # outputs; MSE: dL/dd = 2 d / avg_factor for the positives' coordinates.
    head = _head(dict(type='CrossEntropyLoss', use_sigmoid=True),
                 dict(type='MSELoss'))
    inputs = _inputs(head)
    cls_grad, reg_grad = _loss_grads(head, *inputs)
    avg = float(_num_pos(head, inputs[0], *inputs[2:]))
    sample = head_gradient_sample(head, *inputs)

    expected_g = (cls_grad[cls_grad != 0].abs() * avg).sort().values
    torch.testing.assert_close(sample.cls_g.sort().values, expected_g,
                               rtol=1e-4, atol=1e-6)
    expected_d = (reg_grad[reg_grad != 0].abs() * avg / 2).sort().values
    torch.testing.assert_close(sample.reg_diff.abs().sort().values,
                               expected_d, rtol=1e-4, atol=1e-6)
    assert sample.num_positive_anchors == int(avg) > 0
    assert sample.cls_g.numel() == sample.num_valid_anchors * NUM_CLASSES
    assert sample.reg_diff.numel() == 4 * sample.num_positive_anchors
    assert int(sample.cls_positive.sum()) == sample.num_positive_anchors


def test_softmax_sample_is_one_minus_p_of_label():
    head = _head(dict(type='CrossEntropyLoss', use_sigmoid=False),
                 dict(type='L1Loss'))
    cls_scores, bbox_preds, gts, metas = _inputs(head, seed=3)
    sample = head_gradient_sample(head, cls_scores, bbox_preds, gts, metas)
    assert not sample.use_sigmoid
    assert sample.cls_g.numel() == sample.num_valid_anchors
    assert ((sample.cls_g >= 0) & (sample.cls_g <= 1)).all()
    assert int(sample.cls_positive.sum()) == sample.num_positive_anchors


def test_detector_head_refuses_two_stage_models():
    with pytest.raises(ValueError, match='AnchorHead'):
        detector_head(torch.nn.Module())
