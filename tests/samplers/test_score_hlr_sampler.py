"""imbalance_plugin.ScoreHLRSampler against mmdet 3.3.0's ScoreHLRSampler.

Both samplers score the negatives through a context whose ``_bbox_forward``
is a fixed function of the RoI boxes, so they see the same scores and deltas.
With the same seed they also draw the same random positives and fill.
"""
import re

import pytest
import torch
from mmcv.ops import nms_match
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.models.task_modules.samplers import (
    ScoreHLRSampler as MMDetScoreHLRSampler,
)
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.structures import InstanceData
from torch import nn

from imbalance_plugin.registry import TASK_UTILS
from imbalance_plugin.samplers import ScoreHLRSampler
from imbalance_plugin.samplers.sampling_result import sampling_result
from imbalance_plugin.samplers.score_hlr_sampler import (
    hlr_order,
    kernel_local_rank,
)

NUM_CLASSES = 5


class BoxScoringContext(nn.Module):
    """Stands in for a RoI head: scores are a fixed function of the boxes."""

    def __init__(self, seed, class_agnostic=False, sigmoid=False):
        super().__init__()
        torch.manual_seed(seed)
        loss_cls = dict(type='FocalLoss', use_sigmoid=True) if sigmoid else \
            dict(type='CrossEntropyLoss')
        self.bbox_head = MMDET_MODELS.build(
            dict(
                type='BBoxHead',
                with_avg_pool=False,
                roi_feat_size=1,
                in_channels=16,
                num_classes=NUM_CLASSES,
                reg_class_agnostic=class_agnostic,
                loss_cls=loss_cls,
                loss_bbox=dict(type='L1Loss')))
        self.embed = nn.Linear(4, 16)
        with torch.no_grad():
            self.embed.weight.mul_(8.)
            self.bbox_head.fc_reg.weight.mul_(0.3)
            self.bbox_head.fc_cls.weight.mul_(4.)
        self.bbox_roi_extractor = None
        self.with_shared_head = False

    def _bbox_forward(self, feats, rois):
        x = torch.sin(self.embed(rois[:, 1:] / 100.))
        cls_score, bbox_pred = self.bbox_head(x)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred)


def random_image(seed, num_proposals=300, num_gts=4, pos_iou=0.5):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(num_proposals, 2, generator=g) * 400
    wh = 20 + torch.rand(num_proposals, 2, generator=g) * 80
    priors = torch.cat([xy, xy + wh], 1)
    gt_xy = torch.rand(num_gts, 2, generator=g) * 400
    gt_bboxes = torch.cat([gt_xy, gt_xy + 60], 1)
    gt_labels = torch.randint(NUM_CLASSES, (num_gts, ), generator=g)
    overlaps = torch.rand(num_proposals, generator=g)
    gt_inds = torch.zeros(num_proposals, dtype=torch.long)
    if num_gts:
        pos = overlaps > pos_iou
        gt_inds[pos] = torch.randint(num_gts, (int(pos.sum()), ),
                                     generator=g) + 1
    gt_inds[(overlaps > 0.3) & (overlaps < 0.35)] = -1  # ignored
    labels = torch.full((num_proposals, ), -1, dtype=torch.long)
    labels[gt_inds > 0] = gt_labels[gt_inds[gt_inds > 0] - 1]
    return dict(
        priors=priors,
        gt=InstanceData(bboxes=gt_bboxes, labels=gt_labels),
        assign=lambda: AssignResult(num_gts, gt_inds.clone(),
                                    overlaps.clone(), labels.clone()))


def run(sampler, image, seed):
    torch.manual_seed(seed)
    return sampler.sample(image['assign'](),
                          InstanceData(priors=image['priors']), image['gt'],
                          feats=None)


SETTINGS = {
    # name: (sampler kwargs, image kwargs)
    'enough_valid': (dict(num=128, score_thr=0.05), {}),
    'random_fill': (dict(num=256, score_thr=0.45), {}),
    'no_valid': (dict(num=128, score_thr=1.0), {}),
    'many_positives': (dict(num=64, pos_fraction=0.25),
                       dict(pos_iou=0.2)),
    'no_gt': (dict(num=128), dict(num_gts=0, num_proposals=150)),
    'neg_pos_ub': (dict(num=128, neg_pos_ub=2), {}),
    'k_bias_iou': (dict(num=128, k=2., bias=0.3, iou_thr=0.3), {}),
    'no_gt_as_proposals': (dict(num=128, add_gt_as_proposals=False), {}),
}


@pytest.mark.parametrize('grouping', ['auto', 'nms_match', 'torch'])
@pytest.mark.parametrize('setting', sorted(SETTINGS))
def test_matches_mmdet(setting, grouping, mmdet_score_hlr_keys):
    sampler_kwargs, image_kwargs = SETTINGS[setting]
    kwargs = {'pos_fraction': 0.25, **sampler_kwargs}
    compared = 0
    for seed in range(40):
        context = BoxScoringContext(seed)
        image = random_image(seed, **image_kwargs)
        mmdet_score_hlr_keys.clear()
        expected, expected_weights = run(
            MMDetScoreHLRSampler(context=context, **kwargs), image, seed)
        if not mmdet_score_hlr_keys.tie_free():
            continue  # mmdet's order among equal keys is arbitrary
        ours = TASK_UTILS.build(
            dict(type='imbalance_plugin.ScoreHLRSampler', grouping=grouping,
                 **kwargs), default_args=dict(context=context))
        result, weights = run(ours, image, seed)
        assert torch.equal(result.pos_inds, expected.pos_inds)
        assert torch.equal(result.neg_inds, expected.neg_inds)
        assert torch.equal(result.priors, expected.priors)
        _assert_same_sampling_result(result, expected)
        torch.testing.assert_close(weights, expected_weights, rtol=1e-5,
                                   atol=1e-7)
        compared += 1
        if compared == 8:
            break
    assert compared == 8, 'too few tie-free inputs drawn'


def test_deterministic_part_does_not_use_randomness():
    context = BoxScoringContext(0)
    image = random_image(0)
    sampler = ScoreHLRSampler(num=128, pos_fraction=0.25, context=context)
    a, wa = run(sampler, image, 1)
    b, wb = run(sampler, image, 2)
    assert torch.equal(a.neg_inds, b.neg_inds) and torch.equal(wa, wb)


@pytest.mark.parametrize('class_agnostic,sigmoid', [(True, False),
                                                    (False, True)])
@pytest.mark.parametrize('score_thr', [0.05, 0.45])
def test_invariants(class_agnostic, sigmoid, score_thr):
    # Class-agnostic regression and sigmoid losses are outside what mmdet's
    # sampler supports, so these are checked by their invariants.
    for seed in range(6):
        context = BoxScoringContext(seed, class_agnostic, sigmoid)
        image = random_image(seed)
        num = 256
        sampler = ScoreHLRSampler(num=num, pos_fraction=0.25,
                                  context=context, score_thr=score_thr,
                                  k=1., bias=0.)
        assign = image['assign']()
        torch.manual_seed(seed)
        result, weights = sampler.sample(
            assign, InstanceData(priors=image['priors']), image['gt'])
        num_neg_candidates = int((assign.gt_inds == 0).sum())
        expected_neg = min(num - result.pos_inds.numel(), num_neg_candidates)
        assert result.neg_inds.numel() == weights.numel() == expected_neg
        assert (assign.gt_inds[result.neg_inds] == 0).all()
        assert torch.isfinite(weights).all() and (weights > 0).all()
        assert len(set(result.neg_inds.tolist())) == expected_neg
        # Scores of the sampled negatives: valid ones first, HLR weights
        # non-increasing, the random fill at the smallest HLR weight.
        rois = torch.cat([torch.zeros(expected_neg, 1),
                          result.neg_priors], 1)
        out = context._bbox_forward(None, rois)
        cls_score = out['cls_score'].detach()
        probs = cls_score.sigmoid() if sigmoid else cls_score.softmax(-1)
        valid = probs[:, :NUM_CLASSES].max(-1).values > score_thr
        num_valid = int(valid.sum())
        assert valid[:num_valid].all() and not valid[num_valid:].any()
        assert (weights[:num_valid].diff() <= 1e-6).all()
        if num_valid < expected_neg:
            assert torch.allclose(weights[num_valid:],
                                  weights[num_valid - 1:num_valid]
                                  if num_valid else weights[num_valid:])
        # The weighted loss of the sampled negatives equals the unweighted.
        labels = torch.full((expected_neg, ), NUM_CLASSES)
        loss = context.bbox_head.loss_cls(cls_score, labels,
                                          reduction_override='none')
        if loss.dim() > 1:
            loss = loss.sum(1)
        torch.testing.assert_close((loss * weights).sum(), loss.sum())


def test_no_negatives():
    context = BoxScoringContext(0)
    image = random_image(0, num_proposals=20, pos_iou=-1.)
    sampler = ScoreHLRSampler(num=32, pos_fraction=1., context=context)
    result, weights = run(sampler, image, 0)
    assert result.neg_inds.numel() == 0 and weights.numel() == 0


def test_registered_and_usable_by_mmdet_pisa_roi_head_config():
    sampler = TASK_UTILS.build(
        dict(type='imbalance_plugin.ScoreHLRSampler', num=4,
             pos_fraction=0.5),
        default_args=dict(context=None))
    assert isinstance(sampler, ScoreHLRSampler)
    assert sampler.k == 0.5 and sampler.bias == 0. and \
        sampler.score_thr == 0.05 and sampler.iou_thr == 0.5
    # mmdet's own name still builds mmdet's sampler.
    assert isinstance(
        MMDET_TASK_UTILS.build(
            dict(type='ScoreHLRSampler', num=4, pos_fraction=0.5),
            default_args=dict(context=BoxScoringContext(0))),
        MMDetScoreHLRSampler)


FRACTION = r'a finite number in \[0, 1\]'


@pytest.mark.parametrize('name,value,allowed', [
    ('num', 0, 'an integer >= 1'), ('num', -3, 'an integer >= 1'),
    ('num', 2.5, 'an integer >= 1'), ('num', True, 'an integer >= 1'),
    ('pos_fraction', -0.1, FRACTION), ('pos_fraction', 1.5, FRACTION),
    ('pos_fraction', True, FRACTION),
    ('k', -0.5, r'a finite number in \[0, inf\)'),
    ('k', float('nan'), r'a finite number in \[0, inf\)'),
    ('bias', 1., r'a finite number in \[0, 1\)'),
    ('bias', -0.2, r'a finite number in \[0, 1\)'),
    ('score_thr', -0.01, FRACTION), ('score_thr', 1.01, FRACTION),
    ('iou_thr', -0.1, FRACTION), ('iou_thr', 1.5, FRACTION),
    ('neg_pos_ub', -2, 'an integer >= -1'),
    ('neg_pos_ub', 2., 'an integer >= -1'),
    ('add_gt_as_proposals', 1, 'True or False'),
    ('grouping', 'kernel', r"one of \('auto', 'nms_match', 'torch'\)"),
])
def test_bad_config_raises_at_build(name, value, allowed):
    cfg = dict(type='imbalance_plugin.ScoreHLRSampler', num=512,
               pos_fraction=0.25)
    cfg[name] = value
    with pytest.raises(ValueError, match=rf'^ScoreHLRSampler\.{name}\b.* '
                       rf'must be {allowed}, got {re.escape(repr(value))}$'):
        TASK_UTILS.build(cfg, default_args=dict(context=None))


@pytest.mark.parametrize('name', ['scor_thr', 'iou_threshold', 'nms_match'])
def test_unknown_argument_raises_at_build(name):
    cfg = dict(type='imbalance_plugin.ScoreHLRSampler', num=512,
               pos_fraction=0.25, **{name: 0.05})
    with pytest.raises(TypeError, match=name):
        TASK_UTILS.build(cfg, default_args=dict(context=None))


def clustered_boxes(seed, n=300, clusters=10):
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(clusters, 2, generator=g) * 300
    xy = centres[torch.randint(clusters, (n, ), generator=g)] + torch.randn(
        n, 2, generator=g) * 8
    return torch.cat([xy - 20, xy + 20], 1), torch.rand(n, generator=g)


def test_kernel_local_rank_is_the_position_in_the_group():
    boxes, scores = clustered_boxes(0)
    groups = nms_match(torch.cat([boxes, scores[:, None]], 1), 0.5)
    local_rank = kernel_local_rank([group.tolist() for group in groups], 300)
    for group in groups:
        assert torch.equal(local_rank[group], torch.arange(group.numel()))


@pytest.mark.parametrize('kernel', [True, False], ids=['nms_match', 'torch'])
@pytest.mark.parametrize('num_hlr', [1, 10, 40, 150, 300])
def test_hlr_order_matches_brute_force(kernel, num_hlr):
    for seed in range(6):
        boxes, scores = clustered_boxes(seed)
        groups = nms_match(torch.cat([boxes, scores[:, None]], 1), 0.5)
        assert 10 <= len(groups) < 300
        order = hlr_order(boxes, scores, 0.5, num_hlr, kernel)
        # Local rank: how many of the box's group score higher. Then order by
        # mmdet's float32 key (n - local rank) + score, descending, equal
        # keys by index.
        group_of = {int(i): k for k, group in enumerate(groups)
                    for i in group}
        local = torch.tensor([sum(float(scores[j]) > float(scores[i])
                                  for j in groups[group_of[i]])
                              for i in range(300)])
        key = (300 - local.float()) + scores
        expected = sorted(range(300), key=lambda i: (-float(key[i]), i))
        assert order.dtype == torch.long
        assert order.tolist() == expected[:num_hlr]


def _select(sampler, cls_score, bbox_pred, priors, num, bbox_head):
    torch.manual_seed(0)
    return sampler.select_negatives(cls_score, bbox_pred, priors, num,
                                    bbox_head)


@pytest.mark.parametrize('sigmoid', [False, True])
def test_groupings_select_the_same(sigmoid):
    g = torch.Generator().manual_seed(0)
    context = BoxScoringContext(0, sigmoid=sigmoid)
    n = 400
    xy = torch.rand(n, 2, generator=g) * 300
    priors = torch.cat([xy, xy + 30 + torch.rand(n, 2, generator=g) * 40], 1)
    cls_score = torch.randn(n, NUM_CLASSES + 1, generator=g) * 2
    cls_score[:, -1] += 3.
    bbox_pred = torch.randn(n, 4 * NUM_CLASSES, generator=g) * 0.3
    for num in (20, 100, 300):
        out = [
            _select(ScoreHLRSampler(num=512, pos_fraction=0.25,
                                    grouping=grouping), cls_score, bbox_pred,
                    priors, num, context.bbox_head)
            for grouping in ('nms_match', 'torch')
        ]
        assert torch.equal(out[0][0], out[1][0])
        assert torch.equal(out[0][1], out[1][1])


def test_background_probability_zero_keeps_weights_finite():
    # p_bg underflows to 0 for these rows; the loss (log-softmax) does not.
    context = BoxScoringContext(0)
    n = 50
    corner = torch.arange(n, dtype=torch.float32)[:, None] * 50.
    priors = torch.cat([corner, corner, corner + 30, corner + 30], 1)
    cls_score = torch.zeros(n, NUM_CLASSES + 1)
    cls_score[:, 0] = 150.
    sampler = ScoreHLRSampler(num=32, pos_fraction=0.25)
    select, weights = _select(sampler, cls_score,
                              torch.zeros(n, 4 * NUM_CLASSES), priors, 20,
                              context.bbox_head)
    assert select.numel() == 20 and torch.isfinite(weights).all()
    labels = torch.full((20, ), NUM_CLASSES)
    loss = context.bbox_head.loss_cls(cls_score[select], labels,
                                      reduction_override='none')
    torch.testing.assert_close((loss * weights).sum(), loss.sum())


def test_scoring_through_arguments_equals_the_context():
    # What PISARoIHead does: it scores the negatives itself and gives its
    # bbox head; no context needed.
    context = BoxScoringContext(3)
    image = random_image(3)
    kwargs = dict(num=128, pos_fraction=0.25)
    expected, expected_weights = run(
        ScoreHLRSampler(context=context, **kwargs), image, 0)
    scored = []

    def score_negatives(boxes):
        scored.append((boxes, torch.is_grad_enabled()))
        rois = torch.cat([boxes.new_zeros(boxes.size(0), 1), boxes], 1)
        out = context._bbox_forward(None, rois)
        return out['cls_score'], out['bbox_pred']

    torch.manual_seed(0)
    result, weights = ScoreHLRSampler(**kwargs).sample(
        image['assign'](), InstanceData(priors=image['priors']), image['gt'],
        score_negatives=score_negatives, bbox_head=context.bbox_head)
    _assert_same_sampling_result(result, expected)
    assert torch.equal(weights, expected_weights)
    # Called once, on the negative candidates, without gradient.
    (boxes, grad_enabled), = scored
    assert not grad_enabled
    assert boxes.size(0) == int((image['assign']().gt_inds == 0).sum())


def _assert_same_sampling_result(result, expected):
    assert type(result) is type(expected)
    assert sorted(vars(result)) == sorted(vars(expected))
    for name, value in vars(expected).items():
        got = getattr(result, name)
        if isinstance(value, HorizontalBoxes):
            assert type(got) is HorizontalBoxes, name
            got, value = got.tensor, value.tensor
        if torch.is_tensor(value):
            assert got.dtype == value.dtype and got.shape == value.shape, name
            assert torch.equal(got, value), name
        else:
            assert type(got) is type(value) and got == value, name


@pytest.mark.parametrize('num_gts,num_pos,num_neg,gt_as_proposals', [
    (4, 30, 100, True), (4, 30, 100, False), (4, 0, 100, True),
    (4, 30, 0, True), (0, 0, 50, False), (1, 1, 1, True)])
def test_sampling_result_equals_mmdet_constructor(num_gts, num_pos, num_neg,
                                                  gt_as_proposals):
    g = torch.Generator().manual_seed(num_gts + num_pos + num_neg)
    num_priors = 200
    priors = torch.rand(num_priors, 4, generator=g) * 300
    gt_bboxes = torch.rand(num_gts, 4, generator=g) * 300
    gt_inds = torch.zeros(num_priors, dtype=torch.long)
    if num_gts:
        gt_inds[:60] = torch.randint(num_gts, (60, ), generator=g) + 1
    labels = torch.full((num_priors, ), -1, dtype=torch.long)
    labels[gt_inds > 0] = torch.randint(NUM_CLASSES, (int(
        (gt_inds > 0).sum()), ), generator=g)
    assign = AssignResult(num_gts, gt_inds, torch.rand(num_priors,
                                                       generator=g), labels)
    gt_flags = torch.zeros(num_priors, dtype=torch.uint8)
    if gt_as_proposals:
        priors = torch.cat([gt_bboxes, priors])
        assign.add_gt_(torch.randint(NUM_CLASSES, (num_gts, ), generator=g))
        gt_flags = torch.cat([torch.ones(num_gts, dtype=torch.uint8),
                              gt_flags])
    positives = (assign.gt_inds > 0).nonzero().view(-1)
    negatives = (assign.gt_inds == 0).nonzero().view(-1)
    pos_inds = positives[torch.randperm(positives.numel(),
                                        generator=g)[:num_pos]]
    neg_inds = negatives[torch.randperm(negatives.numel(),
                                        generator=g)[:num_neg]]
    args = (pos_inds, neg_inds, priors, gt_bboxes, assign, gt_flags)
    _assert_same_sampling_result(sampling_result(*args),
                                 SamplingResult(*args))
    # Box types other than a plain tensor go through mmdet's constructor.
    args = (pos_inds, neg_inds, priors, HorizontalBoxes(gt_bboxes), assign,
            gt_flags)
    _assert_same_sampling_result(sampling_result(*args),
                                 SamplingResult(*args))
