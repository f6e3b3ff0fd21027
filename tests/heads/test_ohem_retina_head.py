"""imbalance_plugin.OHEMRetinaHead: its losses against a brute-force
reference (the selection of tests/functional/test_ohem.py, cross-entropy
and smooth L1 written out), gradients only into the minibatch, settings
checked at build time, and a toy training through tools/train.py."""
import copy
import math
import re

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from imbalance_plugin.heads.ohem_retina_head import OHEMSettings
from imbalance_plugin.registry import MODELS
from tests.configs.cfg_helpers import CONFIGS, load
from tests.functional.test_ohem import brute_force_select
from tests.train_helper import TOY, logged_train_scalars, train

NUM_CLASSES = 4
STRIDES = [8, 16]
IMG = 96
BETA = 0.11
TOY_OHEM = TOY / 'retinanet_ohem_toy.py'


def head_cfg(ohem=None, loss_cls=None):
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                      neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False)
    if ohem is not None:
        train_cfg['ohem'] = ohem
    return dict(
        type='imbalance_plugin.OHEMRetinaHead',
        num_classes=NUM_CLASSES,
        in_channels=8,
        stacked_convs=1,
        feat_channels=8,
        # RetinaNet's anchors: no two of them have an IoU of exactly 0.5 or
        # 0.7, where float32 rounding would decide the NMS.
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                              strides=STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=loss_cls or dict(type='imbalance_plugin.FocalLoss',
                                  use_sigmoid=True, gamma=0.0, alpha=None),
        loss_bbox=dict(type='SmoothL1Loss', beta=BETA, loss_weight=1.0),
        train_cfg=ConfigDict(train_cfg))


def random_inputs(seed, head, gts_per_img=(5, 3, 1)):
    g = torch.Generator().manual_seed(seed)
    num_imgs = len(gts_per_img)
    cls_scores = [
        torch.randn(num_imgs, head.num_base_priors * NUM_CLASSES, IMG // s,
                    IMG // s, generator=g, requires_grad=True)
        for s in STRIDES
    ]
    bbox_preds = [
        (0.2 * torch.randn(num_imgs, head.num_base_priors * 4, IMG // s,
                           IMG // s, generator=g)).requires_grad_()
        for s in STRIDES
    ]
    gts = []
    for num_gts in gts_per_img:
        xy = torch.rand(num_gts, 2, generator=g) * (IMG - 50)
        wh = 20 + torch.rand(num_gts, 2, generator=g) * 30
        gts.append(InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1),
            labels=torch.randint(NUM_CLASSES, (num_gts, ), generator=g)))
    metas = [dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG))] * num_imgs
    return cls_scores, bbox_preds, gts, metas


def per_anchor(maps, channels):
    """Level maps (N, A_l * channels, H, W) -> (N, A, channels)."""
    num_imgs = maps[0].size(0)
    return torch.cat([
        m.permute(0, 2, 3, 1).reshape(num_imgs, -1, channels) for m in maps
    ], 1)


def reference_losses(head, cls_scores, bbox_preds, gts, metas, ohem):
    """Sigmoid cross-entropy per anchor, the brute-force selection, and the
    two losses averaged over the selected anchors / selected positives."""
    featmap_sizes = [c.shape[-2:] for c in cls_scores]
    anchor_list, valid_list = head.get_anchors(featmap_sizes, metas,
                                               device='cpu')
    labels, label_weights, bbox_targets, bbox_weights, _ = head.get_targets(
        anchor_list, valid_list, gts, metas)
    labels = torch.cat(labels, 1)
    valid = torch.cat(label_weights, 1) > 0
    bbox_targets = torch.cat(bbox_targets, 1).double()
    anchors = torch.stack([torch.cat(a) for a in anchor_list])
    logits = per_anchor(cls_scores, NUM_CLASSES).detach().double()
    deltas = per_anchor(bbox_preds, 4).detach().double()
    onehot = F.one_hot(labels, NUM_CLASSES + 1)[..., :NUM_CLASSES].double()
    ce = F.binary_cross_entropy_with_logits(logits, onehot,
                                            reduction='none').sum(-1)
    positive = labels < NUM_CLASSES
    selected = brute_force_select(ce, anchors, valid, positive,
                                  ohem['num'], ohem['nms_thr'],
                                  ohem['neg_pos_ratio'])
    loss_cls = ce[selected].sum() / max(int(selected.sum()), 1)
    diff = (deltas - bbox_targets).abs()
    smooth_l1 = torch.where(diff < BETA, 0.5 * diff**2 / BETA,
                            diff - 0.5 * BETA).sum(-1)
    chosen = selected & positive
    loss_bbox = smooth_l1[chosen].sum() / max(int(chosen.sum()), 1)
    return loss_cls, loss_bbox, selected, chosen


def test_no_anchor_pair_sits_at_a_threshold():
    """float32 rounding cannot decide the NMS of these tests' anchors."""
    head = MODELS.build(head_cfg())
    anchors = torch.cat(head.prior_generator.grid_priors(
        [(IMG // s, IMG // s) for s in STRIDES], device='cpu')).double()
    inter = (torch.minimum(anchors[:, None, 2:], anchors[None, :, 2:]) -
             torch.maximum(anchors[:, None, :2], anchors[None, :, :2])
             ).clamp(min=0).prod(-1)
    area = (anchors[:, 2:] - anchors[:, :2]).prod(-1)
    iou = inter / (area[:, None] + area[None] - inter)
    for thr in (0.5, 0.7):
        assert (iou - thr).abs().min() > 1e-4


# At NMS 0.5 a pool (8 * num anchors per image) of all 1,620 anchors; at
# 0.7 a smaller one, which always fills a minibatch without a ratio.
OHEM_SETTINGS = [
    dict(num=256, nms_thr=0.5, neg_pos_ratio=None),
    dict(num=256, nms_thr=0.5, neg_pos_ratio=3),
    dict(num=64, nms_thr=0.7, neg_pos_ratio=None),
    dict(num=32, nms_thr=None, neg_pos_ratio=None),
    dict(num=32, nms_thr=None, neg_pos_ratio=3),
]


@pytest.mark.parametrize('ohem', OHEM_SETTINGS, ids=str)
@pytest.mark.parametrize('seed', [0, 1])
def test_losses_and_gradients_equal_the_brute_force_reference(ohem, seed):
    head = MODELS.build(head_cfg(ohem))
    cls_scores, bbox_preds, gts, metas = random_inputs(seed, head)
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    loss_cls, loss_bbox, selected, chosen = reference_losses(
        head, cls_scores, bbox_preds, gts, metas, ohem)
    assert (selected.sum(1) <= ohem['num']).all()
    if ohem['neg_pos_ratio'] is not None:
        assert chosen.any()
    torch.testing.assert_close(losses['loss_cls'].double(), loss_cls,
                               rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(losses['loss_bbox'].double(), loss_bbox,
                               rtol=1e-5, atol=1e-7)

    (losses['loss_cls'] + losses['loss_bbox']).backward()
    cls_grad = per_anchor([c.grad for c in cls_scores], NUM_CLASSES)
    bbox_grad = per_anchor([b.grad for b in bbox_preds], 4)
    assert torch.equal(cls_grad.abs().sum(-1) > 0, selected)
    assert torch.equal(bbox_grad.abs().sum(-1) > 0, chosen)


def test_ratio_of_the_minibatch():
    ohem = dict(num=16, nms_thr=None, neg_pos_ratio=3)
    head = MODELS.build(head_cfg(ohem))
    cls_scores, bbox_preds, gts, metas = random_inputs(3, head, (8, 8))
    _, _, selected, chosen = reference_losses(head, cls_scores, bbox_preds,
                                              gts, metas, ohem)
    head.loss_by_feat(cls_scores, bbox_preds, gts, metas)['loss_cls'] \
        .backward()
    picked = per_anchor([c.grad for c in cls_scores],
                        NUM_CLASSES).abs().sum(-1) > 0
    assert torch.equal(picked, selected)
    # Eight objects give each image more than 4 positives: exactly 4 : 12.
    assert (chosen.sum(1) == 4).all() and (selected.sum(1) == 16).all()


def test_selection_is_not_differentiated():
    head = MODELS.build(head_cfg(dict(num=8)))
    cls_scores, bbox_preds, gts, metas = random_inputs(4, head)
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    # The loss is the mean over the minibatch of the unreduced loss: its
    # gradient is that of the selected anchors' loss alone, each 1 / n.
    losses['loss_cls'].backward()
    grad = per_anchor([c.grad for c in cls_scores], NUM_CLASSES)
    rows = grad.abs().sum(-1) > 0
    logits = per_anchor(cls_scores, NUM_CLASSES).detach()
    featmap_sizes = [c.shape[-2:] for c in cls_scores]
    anchor_list, valid_list = head.get_anchors(featmap_sizes, metas,
                                               device='cpu')
    labels = torch.cat(head.get_targets(anchor_list, valid_list, gts,
                                        metas)[0], 1)
    onehot = F.one_hot(labels, NUM_CLASSES + 1)[..., :NUM_CLASSES].float()
    expected = (logits.sigmoid() - onehot) / rows.sum()
    torch.testing.assert_close(grad[rows], expected[rows])


def test_mmdet_sigmoid_cross_entropy_works_and_softmax_is_refused():
    head = MODELS.build(head_cfg(dict(num=8), loss_cls=dict(
        type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
    losses = head.loss_by_feat(*random_inputs(5, head))
    assert torch.isfinite(losses['loss_cls'])
    for loss_cls in (dict(type='CrossEntropyLoss', use_sigmoid=False),
                     dict(type='imbalance_plugin.GHMC', use_sigmoid=True)):
        with pytest.raises(ValueError, match='loss_cls'):
            MODELS.build(head_cfg(dict(num=8), loss_cls=loss_cls))


@pytest.fixture
def toy_cfg():
    init_default_scope('mmdet')
    return load(TOY_OHEM)


BAD_SETTINGS = [
    ('num', 0), ('num', -5), ('num', 12.5), ('num', True), ('num', '128'),
    ('nms_thr', 0), ('nms_thr', 0.0), ('nms_thr', 1.5), ('nms_thr', -0.3),
    ('nms_thr', 'high'), ('neg_pos_ratio', -1), ('neg_pos_ratio', math.inf),
    ('neg_pos_ratio', 'three'),
]


ALLOWED = dict(
    num='an integer >= 1',
    nms_thr=r'None \(no NMS\) or a finite number in \(0, 1\]',
    neg_pos_ratio=r'None \(no ratio\) or a finite number in \[0, inf\)')


@pytest.mark.parametrize('key,value', BAD_SETTINGS, ids=str)
def test_bad_settings_fail_when_the_config_builds(toy_cfg, key, value):
    toy_cfg.model.train_cfg.ohem[key] = value
    with pytest.raises(ValueError, match=rf'^OHEMRetinaHead\.train_cfg\.ohem\.'
                       rf'{key} must be {ALLOWED[key]}, got '
                       rf'{re.escape(repr(value))}$'):
        MMDET_MODELS.build(toy_cfg.model)


def test_unknown_key_and_too_small_a_batch_for_the_ratio(toy_cfg):
    cfg = copy.deepcopy(toy_cfg)
    cfg.model.train_cfg.ohem['nms_thresh'] = 0.7
    where = r'OHEMRetinaHead\.train_cfg\.ohem'
    with pytest.raises(ValueError, match=rf"^{where}\.nms_thresh is not a "
                       rf"setting; {where} accepts \['num', 'nms_thr', "
                       r"'neg_pos_ratio'\]$"):
        MMDET_MODELS.build(cfg.model)
    toy_cfg.model.train_cfg.ohem.update(num=3, neg_pos_ratio=3)
    with pytest.raises(ValueError, match=rf'^{where}\.neg_pos_ratio=3 leaves '
                       'no positive in a minibatch of num=3; need num >= 1 '
                       r'\+ neg_pos_ratio$'):
        MMDET_MODELS.build(toy_cfg.model)


def test_left_out_settings_take_the_papers_defaults():
    assert OHEMSettings.from_train_cfg(None) == OHEMSettings(
        num=128, nms_thr=0.5, neg_pos_ratio=None)
    settings = OHEMSettings.from_train_cfg(
        ConfigDict(ohem=dict(num=64, nms_thr=None, neg_pos_ratio=3)))
    assert settings == OHEMSettings(num=64, nms_thr=None, neg_pos_ratio=3.)
    assert isinstance(settings.neg_pos_ratio, float)


def test_coco_configs_hold_the_papers_settings():
    ohem = load(CONFIGS / 'retinanet/retinanet_r101_fpn_ohem-1x_coco.py')
    focal = load(CONFIGS / 'retinanet/retinanet_r101_fpn_focal-600-1x_coco.py')
    assert ohem.model.bbox_head.type == 'imbalance_plugin.OHEMRetinaHead'
    assert ohem.model.train_cfg.ohem == dict(num=128, nms_thr=0.5,
                                             neg_pos_ratio=None)
    assert (ohem.model.bbox_head.loss_cls.gamma,
            ohem.model.bbox_head.loss_cls.alpha) == (0.0, None)
    assert (focal.model.bbox_head.loss_cls.gamma,
            focal.model.bbox_head.loss_cls.alpha) == (2.0, 0.25)
    for cfg in (ohem, focal):
        assert cfg.model.backbone.depth == 101
        for loader in (cfg.train_dataloader, cfg.val_dataloader,
                       cfg.test_dataloader):
            resize = [t for t in loader.dataset.pipeline
                      if t.type == 'Resize']
            assert [tuple(t.scale) for t in resize] == [(1000, 600)]


def test_toy_config_trains_through_tools_train(tmp_path):
    train(TOY_OHEM, tmp_path, max_iters=2, checkpoint_interval=2)
    logged = logged_train_scalars(tmp_path)
    assert sorted(logged) == [1, 2]
    for row in logged.values():
        assert math.isfinite(row['loss_cls']) and row['loss_cls'] > 0
        assert math.isfinite(row['loss_bbox'])
