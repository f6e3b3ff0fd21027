"""imbalance_plugin.PISASSDHead against mmdet 3.3.0's PISASSDHead."""
import copy

import pytest
import torch
from mmdet.models.losses import SmoothL1Loss
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from imbalance_plugin.heads.pisa_common import PISASettings
from imbalance_plugin.heads.pisa_ssd_head import (
    SSDLossSettings,
    hard_example_mask,
)
from imbalance_plugin.registry import MODELS

NUM_CLASSES = 4
STRIDES = [8, 16]
IN_CHANNELS = (8, 16)
IMG = 96


def head_cfg(isr=True, carl=True, neg_pos_ratio=3, smoothl1_beta=1.):
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                      neg_iou_thr=0.5, min_pos_iou=0., ignore_iof_thr=-1,
                      gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=smoothl1_beta,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=neg_pos_ratio,
        debug=False)
    if isr:
        train_cfg['isr'] = dict(k=2., bias=0.)
    if carl:
        train_cfg['carl'] = dict(k=1., bias=0.2)
    return dict(
        num_classes=NUM_CLASSES,
        in_channels=IN_CHANNELS,
        anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                              strides=STRIDES, ratios=[[2], [2, 3]],
                              min_sizes=[16, 32], max_sizes=[32, 64]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        train_cfg=ConfigDict(train_cfg))


def build_pair(seed, **kwargs):
    """(ours, mmdet's) with the same weights."""
    cfg = head_cfg(**kwargs)
    torch.manual_seed(seed)
    theirs = MMDET_MODELS.build(dict(type='PISASSDHead', **cfg))
    ours = MODELS.build(
        dict(type='imbalance_plugin.PISASSDHead', **copy.deepcopy(cfg)))
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def random_inputs(seed, gts_per_img=(5, 3)):
    """Features of each level and ground truths, for len(gts_per_img)
    images."""
    g = torch.Generator().manual_seed(seed)
    num_imgs = len(gts_per_img)
    feats = [
        torch.randn(num_imgs, c, IMG // s, IMG // s, generator=g)
        for c, s in zip(IN_CHANNELS, STRIDES)
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
    return feats, gts, metas


def losses_and_grads(head, inputs, scores_fn=None):
    """Each loss term (per-image terms stacked), and the gradients of their
    sum w.r.t. the head's input features and its parameters."""
    feats, gts, metas = inputs
    feats = [f.clone().requires_grad_() for f in feats]
    head.zero_grad()
    cls_scores, bbox_preds = head(feats)
    if scores_fn is not None:
        cls_scores = [scores_fn(s) for s in cls_scores]
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    terms = {
        k: torch.cat([t.reshape(-1) for t in v])
        if isinstance(v, list) else v.reshape(-1)
        for k, v in losses.items()
    }
    sum(t.sum() for t in terms.values()).backward()
    grads = [f.grad for f in feats] + [p.grad for p in head.parameters()]
    return {k: t.detach() for k, t in terms.items()}, grads


def assert_same(ours, theirs, grads=True):
    assert ours[0].keys() == theirs[0].keys()
    for key in theirs[0]:
        torch.testing.assert_close(ours[0][key], theirs[0][key], rtol=1e-5,
                                   atol=1e-7, msg=key)
    if grads:
        for got, expected in zip(ours[1], theirs[1], strict=True):
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)


PARTS = [(True, True), (True, False), (False, True), (False, False)]


@pytest.mark.parametrize('isr,carl', PARTS)
@pytest.mark.parametrize('gts_per_img', [(5, 3), (6, 0), (7, ), (0, 0)])
def test_matches_mmdet(isr, carl, gts_per_img):
    for seed in range(3):
        ours, theirs = build_pair(seed, isr=isr, carl=carl)
        inputs = random_inputs(seed, gts_per_img)
        expected = losses_and_grads(theirs, inputs)
        got = losses_and_grads(ours, inputs)
        assert_same(got, expected)
        assert len(got[0]['loss_cls']) == len(gts_per_img)


@pytest.mark.parametrize('neg_pos_ratio', [0, 1, 1000])
def test_matches_mmdet_at_any_negative_ratio(neg_pos_ratio):
    # 1000: fewer negatives than asked for, every negative counts.
    ours, theirs = build_pair(0, neg_pos_ratio=neg_pos_ratio)
    inputs = random_inputs(0)
    assert_same(losses_and_grads(ours, inputs),
                losses_and_grads(theirs, inputs))


def test_ties_among_negatives_give_mmdet_loss():
    # Scores rounded to a coarse grid: many negatives share a loss, so the
    # mined set is not unique; the mined loss (a top-k sum) still is.
    def coarse(s):
        return (s * 2).round() / 2

    ours, theirs = build_pair(1, isr=False)
    inputs = random_inputs(1)
    got, _ = losses_and_grads(ours, inputs, coarse)
    expected, _ = losses_and_grads(theirs, inputs, coarse)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5,
                                   atol=1e-7)


def test_carl_uses_the_heads_smooth_l1_beta(monkeypatch):
    # mmdet's CARL always takes smooth L1 with beta 1; ours the head's
    # smoothl1_beta: the reference at beta 0.5 is mmdet's head with its
    # CARL loss switched to that beta.
    import mmdet.models.dense_heads.pisa_ssd_head as reference
    monkeypatch.setattr(reference, 'SmoothL1Loss',
                        lambda **kwargs: SmoothL1Loss(beta=0.5))
    ours, theirs = build_pair(2, smoothl1_beta=0.5)
    inputs = random_inputs(2)
    assert_same(losses_and_grads(ours, inputs),
                losses_and_grads(theirs, inputs))


def test_isr_p_and_carl_change_the_gradients():
    inputs = random_inputs(3)
    plain, _ = build_pair(3, isr=False, carl=False)
    _, plain_grads = losses_and_grads(plain, inputs)
    for isr, carl in PARTS[:3]:
        pisa, _ = build_pair(3, isr=isr, carl=carl)
        _, grads = losses_and_grads(pisa, inputs)
        assert not torch.allclose(grads[0], plain_grads[0])


def test_hard_example_mask_against_per_image_topk():
    g = torch.Generator().manual_seed(0)
    loss = torch.rand(3, 50, generator=g)
    labels = torch.full((3, 50), NUM_CLASSES)
    labels[0, :4] = 1
    labels[1, 10:30] = 2
    # image 2: no positive, so no negative either
    mask = hard_example_mask(loss, labels, NUM_CLASSES, 3)
    for i in range(3):
        pos = labels[i] < NUM_CLASSES
        neg = ~pos
        k = min(3 * int(pos.sum()), int(neg.sum()))
        hard = torch.zeros_like(pos)
        neg_inds = neg.nonzero().view(-1)
        hard[neg_inds[loss[i, neg_inds].topk(k).indices]] = True
        assert torch.equal(mask[i], pos | hard)


@pytest.mark.parametrize('part,key', [('isr', 'bais'), ('carl', 'K'),
                                      ('isr', 'gamma')])
def test_misspelt_key_raises_at_build(part, key):
    cfg = head_cfg()
    cfg['train_cfg'][part][key] = 0.5
    where = rf'PISASSDHead\.train_cfg\.{part}'
    with pytest.raises(ValueError, match=rf"^{where}\.{key} is not a "
                       rf"setting; {where} accepts \['k', 'bias'\]$"):
        MODELS.build(dict(type='imbalance_plugin.PISASSDHead', **cfg))


@pytest.mark.parametrize('part,key,value,allowed', [
    ('isr', 'k', -1., r'\[0, inf\)'), ('isr', 'bias', 1., r'\[0, 1\)'),
    ('carl', 'bias', -0.5, r'\[0, 1\)')
])
def test_out_of_range_value_raises_at_build(part, key, value, allowed):
    cfg = head_cfg()
    cfg['train_cfg'][part][key] = value
    with pytest.raises(ValueError, match=rf'^PISASSDHead\.train_cfg\.{part}\.'
                       rf'{key} must be a finite number in {allowed}, got '
                       rf'{value!r}$'):
        MODELS.build(dict(type='imbalance_plugin.PISASSDHead', **cfg))


@pytest.mark.parametrize('key,value,allowed', [
    ('neg_pos_ratio', 2.5, 'an integer >= 0'),
    ('neg_pos_ratio', -1, 'an integer >= 0'),
    ('neg_pos_ratio', True, 'an integer >= 0'),
    ('neg_pos_ratio', None, 'an integer >= 0'),
    ('smoothl1_beta', 0., r'a finite number in \(0, inf\)'),
    ('smoothl1_beta', '1', r'a finite number in \(0, inf\)'),
])
def test_bad_ssd_setting_raises_at_build(key, value, allowed):
    cfg = head_cfg()
    cfg['train_cfg'][key] = value
    with pytest.raises(ValueError, match=rf'^PISASSDHead\.train_cfg\.{key} '
                       rf'must be {allowed}, got {value!r}$'):
        MODELS.build(dict(type='imbalance_plugin.PISASSDHead', **cfg))


def test_mmdet_keys_of_train_cfg_are_left_to_mmdet():
    head = MODELS.build(dict(type='imbalance_plugin.PISASSDHead',
                             **head_cfg(neg_pos_ratio=2, smoothl1_beta=0.5)))
    assert head.ssd == SSDLossSettings(neg_pos_ratio=2, smoothl1_beta=0.5)


def test_builds_for_inference_without_train_cfg():
    cfg = head_cfg()
    cfg['train_cfg'] = None
    head = MODELS.build(dict(type='imbalance_plugin.PISASSDHead', **cfg))
    assert head.pisa == PISASettings(isr=None, carl=None)
    assert head.ssd is None


@pytest.mark.parametrize('isr,carl', PARTS)
def test_last_pisa_weights_for_the_gradient_density_hook(isr, carl):
    ours, _ = build_pair(0, isr=isr, carl=carl)
    losses_and_grads(ours, random_inputs(0))
    weights = ours.last_pisa_weights
    assert set(weights) == {k for k, on in (('isr_p', isr), ('carl', carl))
                            if on}
    if isr:
        isr_p = weights['isr_p']
        positive = ~torch.isnan(isr_p)
        assert positive.sum() > 0 and not isr_p.requires_grad
        assert (isr_p[positive] >= 0).all()
    if carl:
        torch.testing.assert_close(weights['carl'].mean(), torch.tensor(1.))
    if isr and carl:
        assert positive.sum() == weights['carl'].numel()
