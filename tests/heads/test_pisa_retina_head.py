"""imbalance_plugin.PISARetinaHead against mmdet 3.3.0's PISARetinaHead."""
import copy

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from imbalance_plugin.registry import MODELS

NUM_CLASSES = 4
STRIDES = [8, 16]
IMG = 96


def head_cfg(isr=True, carl=True, loss_cls=None, loss_bbox=None):
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                      neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False)
    if isr:
        train_cfg['isr'] = dict(k=2., bias=0.)
    if carl:
        train_cfg['carl'] = dict(k=1., bias=0.2)
    return dict(
        num_classes=NUM_CLASSES,
        in_channels=8,
        stacked_convs=1,
        feat_channels=8,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=3,
                              scales_per_octave=2, ratios=[0.5, 1.0, 2.0],
                              strides=STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=loss_cls or dict(type='FocalLoss', use_sigmoid=True,
                                  gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=loss_bbox or dict(type='SmoothL1Loss', beta=0.11,
                                    loss_weight=1.0),
        train_cfg=ConfigDict(train_cfg))


def build_pair(seed, **kwargs):
    cfg = head_cfg(**kwargs)
    torch.manual_seed(seed)
    theirs = MMDET_MODELS.build(dict(type='PISARetinaHead', **cfg))
    ours = MODELS.build(
        dict(type='imbalance_plugin.PISARetinaHead', **copy.deepcopy(cfg)))
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def random_inputs(seed, head, gts_per_img=(5, 3)):
    g = torch.Generator().manual_seed(seed)
    num_imgs = len(gts_per_img)
    channels = head.num_base_priors * head.cls_out_channels
    cls_scores = [
        torch.randn(num_imgs, channels, IMG // s, IMG // s, generator=g)
        for s in STRIDES
    ]
    bbox_preds = [
        0.2 * torch.randn(num_imgs, head.num_base_priors * 4, IMG // s,
                          IMG // s, generator=g) for s in STRIDES
    ]
    gts = []
    for num_gts in gts_per_img:
        xy = torch.rand(num_gts, 2, generator=g) * (IMG - 40)
        wh = 12 + torch.rand(num_gts, 2, generator=g) * 28
        gts.append(
            InstanceData(
                bboxes=torch.cat([xy, xy + wh], 1),
                labels=torch.randint(NUM_CLASSES, (num_gts, ), generator=g)))
    metas = [dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG))] * num_imgs
    return cls_scores, bbox_preds, gts, metas


def losses_and_grads(head, inputs):
    cls_scores, bbox_preds, gts, metas = inputs
    cls_scores = [c.clone().requires_grad_() for c in cls_scores]
    bbox_preds = [b.clone().requires_grad_() for b in bbox_preds]
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    total = sum(v.sum() for v in losses.values())
    total.backward()
    return ({k: v.detach().reshape(-1)
             for k, v in losses.items()}, [c.grad for c in cls_scores],
            [b.grad for b in bbox_preds])


def assert_same(ours, theirs):
    assert ours[0].keys() == theirs[0].keys()
    for key in theirs[0]:
        torch.testing.assert_close(ours[0][key], theirs[0][key], rtol=1e-5,
                                   atol=1e-7, msg=key)
    for got, expected in zip(ours[1] + ours[2], theirs[1] + theirs[2]):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('part,key', [('isr', 'kk'), ('carl', 'biass'),
                                      ('carl', 'sigmoid')])
def test_misspelt_train_cfg_key_raises_at_build(part, key):
    cfg = head_cfg()
    cfg['train_cfg'][part][key] = 1.
    where = rf'PISARetinaHead\.train_cfg\.{part}'
    with pytest.raises(ValueError, match=rf"^{where}\.{key} is not a "
                       rf"setting; {where} accepts \['k', 'bias'\]$"):
        MODELS.build(dict(type='imbalance_plugin.PISARetinaHead', **cfg))


@pytest.mark.parametrize('isr,carl', [(True, True), (True, False),
                                      (False, True), (False, False)])
@pytest.mark.parametrize('gts_per_img', [(5, 3), (6, 0), (0, 0), (8, )])
def test_matches_mmdet(isr, carl, gts_per_img):
    for seed in range(4):
        ours, theirs = build_pair(seed, isr=isr, carl=carl)
        inputs = random_inputs(seed, theirs, gts_per_img)
        assert_same(
            losses_and_grads(ours, inputs), losses_and_grads(theirs, inputs))


@pytest.mark.parametrize('loss_bbox', [dict(type='L1Loss'),
                                       dict(type='SmoothL1Loss', beta=1.)])
def test_matches_mmdet_other_regression_losses(loss_bbox):
    for seed in range(3):
        ours, theirs = build_pair(seed, loss_bbox=loss_bbox)
        inputs = random_inputs(seed, theirs)
        assert_same(
            losses_and_grads(ours, inputs), losses_and_grads(theirs, inputs))


@pytest.mark.parametrize('loss_cls', [
    dict(type='CrossEntropyLoss', use_sigmoid=False),
    dict(type='FocalLoss', use_sigmoid=True),
    dict(type='CrossEntropyLoss', use_sigmoid=True),
])
def test_isr_p_keeps_classification_loss(loss_cls):
    # ISR-P only redistributes the positives' weights: the total
    # classification loss of a linear-in-weight loss is unchanged. Softmax
    # classification runs too (mmdet's head reshapes its scores wrongly).
    for seed in range(3):
        torch.manual_seed(seed)
        with_isr = MODELS.build(
            dict(type='imbalance_plugin.PISARetinaHead',
                 **head_cfg(loss_cls=loss_cls)))
        without = MODELS.build(
            dict(type='imbalance_plugin.PISARetinaHead',
                 **head_cfg(isr=False, loss_cls=loss_cls)))
        inputs = random_inputs(seed, with_isr)
        a, a_cls, _ = losses_and_grads(with_isr, inputs)
        b, b_cls, _ = losses_and_grads(without, inputs)
        torch.testing.assert_close(a['loss_cls'], b['loss_cls'], rtol=1e-5,
                                   atol=1e-7)
        assert not torch.allclose(a_cls[0], b_cls[0])
        for value in a.values():
            assert torch.isfinite(value).all()


@pytest.mark.parametrize('part,key,value', [
    ('isr', 'k', -1.), ('isr', 'bias', 1.), ('carl', 'k', -0.1),
    ('carl', 'bias', -0.5), ('carl', 'bias', 1.5)
])
def test_bad_config_raises_at_build(part, key, value):
    cfg = head_cfg()
    cfg['train_cfg'][part][key] = value
    with pytest.raises(ValueError, match=rf'train_cfg\.{part}\.{key}'):
        MODELS.build(dict(type='imbalance_plugin.PISARetinaHead', **cfg))


@pytest.mark.parametrize('isr,carl', [(True, True), (True, False),
                                      (False, True), (False, False)])
def test_last_pisa_weights_for_the_gradient_density_hook(isr, carl):
    ours, _ = build_pair(0, isr=isr, carl=carl)
    losses_and_grads(ours, random_inputs(0, ours))
    weights = ours.last_pisa_weights
    assert set(weights) == {k for k, on in (('isr_p', isr), ('carl', carl))
                            if on}
    if isr:
        isr_p = weights['isr_p']
        positive = ~torch.isnan(isr_p)
        assert positive.sum() > 0 and not isr_p.requires_grad
        assert (isr_p[positive] >= 0).all()
    if carl:
        carl_w = weights['carl']
        assert torch.isfinite(carl_w).all()
        torch.testing.assert_close(carl_w.mean(), torch.tensor(1.0))
    if isr and carl:
        assert positive.sum() == weights['carl'].numel()
