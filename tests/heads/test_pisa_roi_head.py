"""imbalance_plugin.PISARoIHead against mmdet 3.3.0's PISARoIHead: losses and
gradients (feature maps and parameters) with the same seeds."""
import copy

import pytest
import torch
from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from imbalance_plugin.registry import MODELS

NUM_CLASSES = 5
IMG = 128
STRIDES = [4, 8]


@MMDET_TASK_UTILS.register_module(force=True)
class RandomSamplerForMMDetPISA(RandomSampler):
    """RandomSampler in the (result, weights) form mmdet's PISARoIHead needs
    (it fails on a plain sampler): the reference with ISR-N off."""

    def sample(self, *args, **kwargs):
        return super().sample(*args, **kwargs), None


def sampler_cfg(kind, num=64):
    if kind in ('random', 'random-for-mmdet'):
        return dict(type='RandomSampler' if kind == 'random' else
                    'RandomSamplerForMMDetPISA', num=num, pos_fraction=0.25,
                    neg_pos_ub=-1, add_gt_as_proposals=True)
    prefix = 'imbalance_plugin.' if kind == 'ours' else ''
    return dict(type=prefix + 'ScoreHLRSampler', num=num, pos_fraction=0.25,
                neg_pos_ub=-1, add_gt_as_proposals=True, k=0.5, bias=0.,
                score_thr=0.05, iou_thr=0.5)


def head_cfg(sampler, isr=True, carl=True, class_agnostic=False,
             loss_cls=None, loss_bbox=None, num=64):
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                      neg_iou_thr=0.5, min_pos_iou=0.5,
                      match_low_quality=False, ignore_iof_thr=-1),
        sampler=sampler_cfg(sampler, num),
        pos_weight=-1,
        debug=False)
    if isr:
        train_cfg['isr'] = dict(k=2., bias=0.)
    if carl:
        train_cfg['carl'] = dict(k=1., bias=0.2)
    return dict(
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=8,
            featmap_strides=STRIDES,
            finest_scale=14),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=8,
            fc_out_channels=32,
            roi_feat_size=7,
            num_classes=NUM_CLASSES,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                            target_means=[0.] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=class_agnostic,
            loss_cls=loss_cls or dict(type='CrossEntropyLoss',
                                      use_sigmoid=False, loss_weight=1.0),
            loss_bbox=loss_bbox or dict(type='SmoothL1Loss', beta=1.0,
                                        loss_weight=1.0)),
        train_cfg=ConfigDict(train_cfg))


def build(registry, type_name, cfg, state=None, seed=0):
    torch.manual_seed(seed)
    head = registry.build(dict(type=type_name, **copy.deepcopy(cfg)))
    if state is not None:
        head.load_state_dict(state)
    else:
        # Spread the untrained classifier's scores over (0, 1), as in
        # training, instead of all near 1 / (C + 1).
        with torch.no_grad():
            head.bbox_head.fc_cls.weight.mul_(40.)
    return head


def random_inputs(seed, gts_per_img=(4, 2), num_proposals=150):
    g = torch.Generator().manual_seed(seed)
    num_imgs = len(gts_per_img)
    feats = tuple(
        torch.randn(num_imgs, 8, IMG // s, IMG // s, generator=g)
        for s in STRIDES)
    proposals, samples = [], []
    for num_gts in gts_per_img:
        gt_xy = torch.rand(num_gts, 2, generator=g) * (IMG - 50)
        gt_boxes = torch.cat(
            [gt_xy, gt_xy + 16 + torch.rand(num_gts, 2, generator=g) * 34],
            1)
        # Half the proposals jitter around the ground truths.
        xy = torch.rand(num_proposals, 2, generator=g) * (IMG - 40)
        boxes = torch.cat(
            [xy, xy + 8 + torch.rand(num_proposals, 2, generator=g) * 40], 1)
        if num_gts:
            near = torch.randint(num_gts, (num_proposals // 2, ), generator=g)
            boxes[:num_proposals // 2] = gt_boxes[near] + 6 * torch.randn(
                num_proposals // 2, 4, generator=g)
        boxes = torch.cat([boxes[:, :2], torch.max(boxes[:, 2:],
                                                   boxes[:, :2] + 2)], 1)
        proposals.append(boxes)
        sample = DetDataSample(
            metainfo=dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG)))
        sample.gt_instances = InstanceData(
            bboxes=gt_boxes,
            labels=torch.randint(NUM_CLASSES, (num_gts, ), generator=g))
        samples.append(sample)
    return feats, proposals, samples


def losses_and_grads(head, inputs, seed):
    feats, proposals, samples = inputs
    feats = tuple(f.clone().requires_grad_() for f in feats)
    rpn_results = [InstanceData(bboxes=p.clone()) for p in proposals]
    head.zero_grad()
    torch.manual_seed(seed)
    losses = head.loss(feats, rpn_results, samples)
    sum(v.sum() for k, v in losses.items() if 'loss' in k).backward()
    grads = [f.grad for f in feats] + [
        p.grad if p.grad is not None else torch.zeros_like(p)
        for p in head.parameters()
    ]
    return {k: v.detach().reshape(-1) for k, v in losses.items()}, grads


def assert_same(ours, theirs):
    assert ours[0].keys() == theirs[0].keys()
    for key in theirs[0]:
        torch.testing.assert_close(ours[0][key], theirs[0][key], rtol=1e-5,
                                   atol=1e-7, msg=key)
    for got, expected in zip(ours[1], theirs[1]):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def compare(seeds, ours_sampler, theirs_sampler, keys, gts_per_img=(4, 2),
            **kw):
    """Compares the heads on ``seeds`` inputs free of mmdet Score-HLR ties."""
    compared = 0
    for seed in range(4 * seeds):
        theirs = build(MMDET_MODELS, 'PISARoIHead',
                       head_cfg(theirs_sampler, **kw), seed=seed)
        ours = build(MODELS, 'imbalance_plugin.PISARoIHead',
                     head_cfg(ours_sampler, **kw), theirs.state_dict(), seed)
        inputs = random_inputs(seed, gts_per_img)
        keys.clear()
        expected = losses_and_grads(theirs, inputs, seed)
        if not keys.tie_free():
            continue  # mmdet's order among equal Score-HLR keys is arbitrary
        assert_same(losses_and_grads(ours, inputs, seed), expected)
        compared += 1
        if compared == seeds:
            return
    raise AssertionError('too few tie-free inputs drawn')


@pytest.mark.parametrize('isr,carl', [(True, True), (True, False),
                                      (False, True), (False, False)])
def test_full_pisa_matches_mmdet(isr, carl, mmdet_score_hlr_keys):
    compare(4, 'ours', 'mmdet', mmdet_score_hlr_keys, isr=isr, carl=carl)


@pytest.mark.parametrize('gts_per_img', [(3, 0), (0, 0), (5, )])
def test_images_without_gt_match_mmdet(gts_per_img, mmdet_score_hlr_keys):
    compare(3, 'ours', 'mmdet', mmdet_score_hlr_keys, gts_per_img)


def test_random_fill_matches_mmdet(mmdet_score_hlr_keys):
    # More negatives wanted than there are: all are taken, the order and
    # weights still come from Score-HLR; same seed on both sides.
    compare(3, 'ours', 'mmdet', mmdet_score_hlr_keys, num=256)


@pytest.mark.parametrize('class_agnostic', [False, True])
@pytest.mark.parametrize('loss_bbox', [None, dict(type='L1Loss')])
def test_isr_p_and_carl_with_random_sampler_match_mmdet(
        class_agnostic, loss_bbox, mmdet_score_hlr_keys):
    # mmdet's Score-HLR sampler breaks on class-agnostic regression, so the
    # ISR-N-off ablation (RandomSampler) is what both can run here.
    compare(3, 'random', 'random-for-mmdet', mmdet_score_hlr_keys,
            class_agnostic=class_agnostic, loss_bbox=loss_bbox)


def test_isr_p_with_sigmoid_classification_matches_mmdet(
        mmdet_score_hlr_keys):
    # mmdet's CARL and sampler always use softmax, so only ISR-P compares.
    loss_cls = dict(type='FocalLoss', use_sigmoid=True)
    compare(3, 'random', 'random-for-mmdet', mmdet_score_hlr_keys,
            carl=False, loss_cls=loss_cls)


def test_mmdet_sampler_is_accepted(mmdet_score_hlr_keys):
    compare(2, 'mmdet', 'mmdet', mmdet_score_hlr_keys)


def test_reused_features_are_pooled_once():
    calls = []
    head = build(MODELS, 'imbalance_plugin.PISARoIHead', head_cfg('ours'))
    layer = head.bbox_roi_extractor.roi_layers[0]
    original = type(layer).forward

    def counting(self, feats, rois):
        calls.append(rois.size(0))
        return original(self, feats, rois)

    inputs = random_inputs(0)
    for lay in head.bbox_roi_extractor.roi_layers:
        lay.forward = counting.__get__(lay)
    losses_and_grads(head, inputs, 0)
    # per image: the negative candidates once; then the sampled positives
    # once; never the sampled negatives a second time.
    proposals_and_gts = sum(p.size(0) for p in inputs[1]) + 6
    assert sum(calls) < proposals_and_gts


@pytest.mark.parametrize('sigmoid', [False, True])
@pytest.mark.parametrize('class_agnostic', [False, True])
def test_all_parts_run_with_any_classification_and_regression(
        sigmoid, class_agnostic):
    loss_cls = dict(type='FocalLoss', use_sigmoid=True) if sigmoid else None
    head = build(MODELS, 'imbalance_plugin.PISARoIHead',
                 head_cfg('ours', class_agnostic=class_agnostic,
                          loss_cls=loss_cls, loss_bbox=dict(type='L1Loss')))
    losses, grads = losses_and_grads(head, random_inputs(1), 1)
    assert {'loss_cls', 'loss_bbox', 'loss_carl'} <= set(losses)
    for value in losses.values():
        assert torch.isfinite(value).all()
    assert all(torch.isfinite(g).all() for g in grads)
    assert grads[0].abs().sum() > 0


@pytest.mark.parametrize('part,key,value,allowed', [
    ('isr', 'k', -2., r'\[0, inf\)'), ('isr', 'bias', 1., r'\[0, 1\)'),
    ('carl', 'bias', 2., r'\[0, 1\)')
])
def test_bad_config_raises_at_build(part, key, value, allowed):
    cfg = head_cfg('ours')
    cfg['train_cfg'][part][key] = value
    with pytest.raises(ValueError, match=rf'^PISARoIHead\.train_cfg\.{part}\.'
                       rf'{key} must be a finite number in {allowed}, got '
                       rf'{value!r}$'):
        build(MODELS, 'imbalance_plugin.PISARoIHead', cfg)


@pytest.mark.parametrize('part,key', [('isr', 'k_'), ('carl', 'bais')])
def test_misspelt_train_cfg_key_raises_at_build(part, key):
    cfg = head_cfg('ours')
    cfg['train_cfg'][part][key] = 1.
    where = rf'PISARoIHead\.train_cfg\.{part}'
    with pytest.raises(ValueError, match=rf"^{where}\.{key} is not a "
                       rf"setting; {where} accepts \['k', 'bias'\]$"):
        build(MODELS, 'imbalance_plugin.PISARoIHead', cfg)


def test_misspelt_sampler_argument_raises_at_build():
    cfg = head_cfg('ours')
    cfg['train_cfg']['sampler']['scor_thr'] = 0.05
    with pytest.raises(TypeError, match='scor_thr'):
        build(MODELS, 'imbalance_plugin.PISARoIHead', cfg)


def test_last_pisa_weights_for_the_gradient_density_hook():
    head = build(MODELS, 'imbalance_plugin.PISARoIHead',
                 head_cfg(sampler_cfg('ours')))
    losses_and_grads(head, random_inputs(0), seed=0)
    weights = head.last_pisa_weights
    assert set(weights) == {'isr_n', 'isr_p', 'carl'}
    isr_n, isr_p = weights['isr_n'], weights['isr_p']
    negative, positive = ~torch.isnan(isr_n), ~torch.isnan(isr_p)
    assert not (negative & positive).any()
    assert negative.any() and positive.any()
    assert (isr_n[negative] >= 0).all() and (isr_p[positive] >= 0).all()
    assert weights['carl'].numel() == positive.sum()
    torch.testing.assert_close(weights['carl'].mean(), torch.tensor(1.0))
