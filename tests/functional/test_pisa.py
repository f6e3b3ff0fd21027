"""PISA's tensor math against mmdet 3.3.0 (isr_p, carl_loss, nms_match) and
against properties that hold whatever the reference does."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmcv.ops import nms, nms_match
from mmdet.models.losses import (
    CrossEntropyLoss,
    FocalLoss,
    L1Loss,
    SmoothL1Loss,
)
from mmdet.models.losses import carl_loss as mmdet_carl_loss
from mmdet.models.losses import isr_p as mmdet_isr_p
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

from imbalance_plugin.functional.pisa import (
    aligned_box_iou,
    carl_loss,
    carl_weights,
    descending_code,
    iou_hlr,
    isr_p_weights,
    loss_preserving_weights,
    nms_match_leaders,
    score_hlr_order,
    score_hlr_weights,
    segment_rank,
)

SEEDS = range(12)
RTOL = 1e-5


def random_boxes(n, generator, size=200.):
    xy = torch.rand(n, 2, generator=generator) * size
    wh = torch.rand(n, 2, generator=generator) * size / 3 + 4
    return torch.cat([xy, xy + wh], 1)


def random_batch(seed, num_imgs=2, num_classes=7, per_img=60, two_stage=True,
                 class_specific=True, sigmoid=False, gts_per_img=(4, 0, 6)):
    """Targets, predictions and sampling results laid out like a head's."""
    g = torch.Generator().manual_seed(seed)
    labels, rois, samplings = [], [], []
    for img in range(num_imgs):
        num_gts = gts_per_img[img % len(gts_per_img)]
        gt_labels = torch.randint(num_classes, (num_gts, ), generator=g)
        assigned = torch.randint(max(num_gts, 1), (per_img, ), generator=g)
        is_pos = torch.rand(per_img, generator=g) < (0.4 if num_gts else 0)
        img_labels = torch.full((per_img, ), num_classes)
        if num_gts:
            img_labels[is_pos] = gt_labels[assigned[is_pos]]
        labels.append(img_labels)
        boxes = random_boxes(per_img, g)
        rois.append(torch.cat([boxes.new_full((per_img, 1), img), boxes], 1)
                    if two_stage else boxes)
        samplings.append(
            SimpleNamespace(pos_assigned_gt_inds=assigned[is_pos],
                            num_gts=num_gts))
    labels = torch.cat(labels)
    n = labels.numel()
    channels = num_classes if sigmoid else num_classes + 1
    reg_dim = 4 * num_classes if class_specific else 4
    return dict(
        labels=labels,
        label_weights=0.5 + 0.5 * torch.rand(n, generator=g),
        bbox_targets=0.1 * torch.randn(n, 4, generator=g),
        bbox_weights=torch.ones(n, 4),
        rois=torch.cat(rois),
        cls_score=torch.randn(n, channels, generator=g),
        bbox_pred=0.1 * torch.randn(n, reg_dim, generator=g),
        sampling_results=samplings,
        num_classes=num_classes)


def ours_isr_p(batch, loss_cls, coder, k, bias):
    labels, num_classes = batch['labels'], batch['num_classes']
    pos = ((labels >= 0) & (labels < num_classes)).nonzero().view(-1)
    pos_labels = labels[pos]
    rois = batch['rois'][pos]
    rois = rois[:, 1:] if rois.size(1) == 5 else rois
    pred = batch['bbox_pred'][pos]
    if pred.size(1) > 4:
        per_class = pred.view(pred.size(0), pred.size(1) // 4, 4)
        pred = per_class[torch.arange(pos.numel()), pos_labels]
    ious = aligned_box_iou(
        coder.decode(rois, pred), coder.decode(rois,
                                               batch['bbox_targets'][pos]))
    groups, offset = [], 0
    for res in batch['sampling_results']:
        groups.append(res.pos_assigned_gt_inds + offset)
        offset += res.num_gts
    lw = batch['label_weights'][pos]
    weights = isr_p_weights(ious, torch.cat(groups), pos_labels, lw, k, bias)
    loss = loss_cls(batch['cls_score'][pos], pos_labels,
                    reduction_override='none')
    new = batch['label_weights'].clone()
    new[pos] = loss_preserving_weights(weights, loss, lw)
    return new


def mmdet_weights(batch, loss_cls, coder, k, bias, sampling_results=None):
    targets = (batch['labels'], batch['label_weights'].clone(),
               batch['bbox_targets'], batch['bbox_weights'])
    out = mmdet_isr_p(batch['cls_score'], batch['bbox_pred'], targets,
                      batch['rois'], sampling_results
                      or batch['sampling_results'], loss_cls, coder, k=k,
                      bias=bias, num_class=batch['num_classes'])
    return out[1]


LOSSES = {
    'ce-softmax': (lambda: CrossEntropyLoss(), False),
    'focal-sigmoid': (lambda: FocalLoss(use_sigmoid=True), True),
}


@pytest.mark.parametrize('loss_name', sorted(LOSSES))
@pytest.mark.parametrize('two_stage,class_specific', [(True, True),
                                                       (True, False),
                                                       (False, False)])
@pytest.mark.parametrize('k,bias', [(2., 0.), (1., 0.3), (0.5, 0.7)])
def test_isr_p_matches_mmdet(loss_name, two_stage, class_specific, k, bias):
    make_loss, sigmoid = LOSSES[loss_name]
    loss_cls, coder = make_loss(), DeltaXYWHBBoxCoder()
    for seed in SEEDS:
        batch = random_batch(seed, two_stage=two_stage, sigmoid=sigmoid,
                             class_specific=class_specific)
        expected = mmdet_weights(batch, loss_cls, coder, k, bias)
        got = ours_isr_p(batch, loss_cls, coder, k, bias)
        torch.testing.assert_close(got, expected, rtol=RTOL, atol=1e-7)


def test_isr_p_three_images_matches_mmdet_with_unique_gt_ids():
    # mmdet offsets an image's gt ids by the previous image's max id + 1 only,
    # so from the third image on ids can collide; ours offsets by the running
    # gt count. Handing mmdet one merged sampling result with unique ids
    # gives the intended grouping.
    loss_cls, coder = CrossEntropyLoss(), DeltaXYWHBBoxCoder()
    for seed in SEEDS:
        batch = random_batch(seed, num_imgs=4, gts_per_img=(3, 5, 2))
        merged, offset = [], 0
        for res in batch['sampling_results']:
            merged.append(res.pos_assigned_gt_inds + offset)
            offset += res.num_gts
        single = [SimpleNamespace(pos_assigned_gt_inds=torch.cat(merged))]
        expected = mmdet_weights(batch, loss_cls, coder, 2., 0., single)
        got = ours_isr_p(batch, loss_cls, coder, 2., 0.)
        torch.testing.assert_close(got, expected, rtol=RTOL, atol=1e-7)


def test_isr_p_without_positives_keeps_weights():
    batch = random_batch(0, gts_per_img=(0, ))
    assert (batch['labels'] == batch['num_classes']).all()
    got = ours_isr_p(batch, CrossEntropyLoss(), DeltaXYWHBBoxCoder(), 2., 0.)
    torch.testing.assert_close(got, batch['label_weights'])


def hlr_inputs(seed, n=80, num_gts=9, num_classes=4):
    g = torch.Generator().manual_seed(seed)
    gt_labels = torch.randint(num_classes, (num_gts, ), generator=g)
    groups = torch.randint(num_gts, (n, ), generator=g)
    return torch.rand(n, generator=g), groups, gt_labels[groups]


@pytest.mark.parametrize('seed', range(5))
def test_iou_hlr_matches_brute_force(seed):
    ious, groups, labels = hlr_inputs(seed)
    hlr, m = iou_hlr(ious, groups, labels)
    assert int(m) == int(torch.bincount(labels).max())
    # Independent definition: local rank inside the gt, then order inside
    # the class by (local rank ascending, IoU descending).
    local = torch.tensor([int((ious[groups == groups[i]] > ious[i]).sum())
                          for i in range(ious.numel())])
    for i in range(ious.numel()):
        same = labels == labels[i]
        before = same & ((local < local[i]) |
                         ((local == local[i]) & (ious > ious[i])))
        assert hlr[i] == before.sum()


@pytest.mark.parametrize('seed', range(5))
def test_isr_p_weight_properties(seed):
    ious, groups, labels = hlr_inputs(seed)
    lw = torch.ones_like(ious)
    weights = isr_p_weights(ious, groups, labels, lw, k=2., bias=0.)
    assert torch.isfinite(weights).all() and (weights > 0).all()
    for gt in groups.unique():
        members = groups == gt
        best = ious[members].argmax()
        assert weights[members][best] == weights[members].max()
        # Inside one gt, weight decreases as IoU decreases.
        order = ious[members].argsort(descending=True)
        assert (weights[members][order].diff() < 0).all()
    g = torch.Generator().manual_seed(seed)
    loss = torch.rand(ious.numel(), 5, generator=g)
    scaled = loss_preserving_weights(weights, loss, lw)
    torch.testing.assert_close((loss * scaled[:, None]).sum(), loss.sum())


def test_hlr_ties_do_not_crash():
    n = 50
    ious = torch.full((n, ), 0.5)
    groups = torch.arange(n) % 3
    labels = torch.zeros(n, dtype=torch.long)
    weights = isr_p_weights(ious, groups, labels, torch.ones(n), 2., 0.)
    assert torch.isfinite(weights).all() and (weights > 0).all()
    # Equal keys rank by index inside each group.
    assert torch.equal(segment_rank(ious, groups), torch.arange(n) // 3)
    order = score_hlr_order(torch.full((n, ), 0.3),
                            segment_rank(torch.full((n, ), 0.3), groups))
    # By local rank (i // 3), equal keys by index.
    assert torch.equal(order, torch.arange(n))


def test_empty_inputs():
    empty = torch.zeros(0)
    long_empty = torch.zeros(0, dtype=torch.long)
    assert isr_p_weights(empty, long_empty, long_empty, empty).numel() == 0
    assert carl_weights(empty).numel() == 0
    loss = carl_loss(empty.requires_grad_(), torch.zeros(0, 4), 3.)
    assert loss.shape == (1, ) and loss.item() == 0


def test_segment_rank_matches_brute_force():
    g = torch.Generator().manual_seed(3)
    keys = torch.rand(200, generator=g)
    segments = torch.randint(13, (200, ), generator=g)
    rank = segment_rank(keys, segments)
    for i in range(200):
        assert rank[i] == ((segments == segments[i]) & (keys > keys[i])).sum()


@pytest.mark.parametrize('loss_shape', [(40, ), (40, 3)])
@pytest.mark.parametrize('with_ref', [False, True])
def test_loss_preserving_weights_keep_the_loss_sum(loss_shape, with_ref):
    g = torch.Generator().manual_seed(0)
    weights = torch.rand(40, generator=g)
    loss = torch.rand(loss_shape, generator=g)
    ref = torch.rand(40, generator=g) if with_ref else torch.ones(40)
    out = loss_preserving_weights(weights, loss, ref if with_ref else None)
    row_loss = loss.reshape(40, -1).sum(1)
    torch.testing.assert_close((row_loss * out).sum(),
                               (row_loss * ref).sum())
    # Only a common factor changes.
    torch.testing.assert_close(out / weights, (out / weights)[:1].expand(40))


def test_loss_preserving_weights_zero_loss_is_finite():
    weights = torch.rand(5)
    out = loss_preserving_weights(weights, torch.zeros(5))
    assert torch.equal(out, weights)


@pytest.mark.parametrize('sigmoid', [True, False])
@pytest.mark.parametrize('class_specific', [True, False])
@pytest.mark.parametrize('reg_loss', ['smooth_l1', 'l1'])
@pytest.mark.parametrize('k,bias,avg_factor', [(1., 0.2, None),
                                               (2., 0., 17.),
                                               (0.5, 0.5, 3.)])
def test_carl_matches_mmdet(sigmoid, class_specific, reg_loss, k, bias,
                            avg_factor):
    loss_bbox = SmoothL1Loss(beta=1.) if reg_loss == 'smooth_l1' else L1Loss()
    for seed in SEEDS:
        batch = random_batch(seed, sigmoid=sigmoid,
                             class_specific=class_specific)
        labels, num_classes = batch['labels'], batch['num_classes']
        results = []
        for impl in ('mmdet', 'ours'):
            cls_score = batch['cls_score'].clone().requires_grad_()
            bbox_pred = batch['bbox_pred'].clone().requires_grad_()
            if impl == 'mmdet':
                loss = mmdet_carl_loss(
                    cls_score, labels, bbox_pred, batch['bbox_targets'],
                    loss_bbox, k=k, bias=bias, avg_factor=avg_factor,
                    sigmoid=sigmoid, num_class=num_classes)['loss_carl']
            else:
                pos = (labels < num_classes).nonzero().view(-1)
                probs = cls_score.sigmoid() if sigmoid else \
                    cls_score.softmax(-1)
                pred = bbox_pred[pos]
                if class_specific:
                    pred = bbox_pred.view(-1, num_classes, 4)[pos, labels[pos]]
                reg = loss_bbox(pred, batch['bbox_targets'][pos],
                                reduction_override='none')
                loss = carl_loss(probs[pos, labels[pos]], reg,
                                 avg_factor or labels.numel(), k, bias)
            loss.backward()
            results.append((loss, cls_score.grad, bbox_pred.grad))
        for expected, got in zip(*results):
            torch.testing.assert_close(got, expected, rtol=RTOL, atol=1e-8)


def test_carl_weights_average_one_and_flow_into_scores():
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(30, generator=g).requires_grad_()
    weights = carl_weights(scores, k=1., bias=0.2)
    torch.testing.assert_close(weights.mean(), torch.tensor(1.))
    assert (weights > 0).all()
    reg = torch.rand(30, 4, generator=g)
    carl_loss(scores, reg, 30.).backward()
    assert scores.grad.abs().sum() > 0
    zero_scores = torch.zeros(4)
    assert torch.isfinite(carl_weights(zero_scores, k=1., bias=0.)).all()


def clustered_boxes(seed, n=300):
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(12, 2, generator=g) * 300
    pick = torch.randint(12, (n, ), generator=g)
    xy = centres[pick] + torch.randn(n, 2, generator=g) * 8
    wh = 30 + torch.rand(n, 2, generator=g) * 30
    return torch.cat([xy - wh / 2, xy + wh / 2], 1), torch.rand(n,
                                                                generator=g)


@pytest.mark.parametrize('iou_thr', [0.3, 0.5, 0.7])
def test_nms_match_leaders_matches_mmcv(iou_thr):
    below = float(torch.nextafter(torch.tensor(iou_thr),
                                  torch.tensor(-math.inf)))
    for seed in SEEDS:
        boxes, scores = clustered_boxes(seed)
        _, keep = nms(boxes, scores, below)
        leaders = nms_match_leaders(boxes, scores, keep, iou_thr)
        groups = nms_match(torch.cat([boxes, scores[:, None]], 1), iou_thr)
        expected = torch.empty_like(leaders)
        for group in groups:
            expected[group] = group[0]
        assert torch.equal(leaders, expected)
        assert len(groups) > 5 and len(groups) < boxes.size(0)


def test_score_hlr_order_matches_brute_force():
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        scores = torch.rand(60, generator=g)
        leaders = torch.randint(10, (60, ), generator=g)
        order = score_hlr_order(scores, segment_rank(scores, leaders))
        local = torch.tensor(
            [int((scores[leaders == leaders[i]] > scores[i]).sum())
             for i in range(60)])
        expected = sorted(range(60),
                          key=lambda i: (int(local[i]), -float(scores[i])))
        assert order.tolist() == expected


def test_score_hlr_weights():
    w = score_hlr_weights(3, 2, 10, k=1., bias=0.)
    torch.testing.assert_close(w, torch.tensor([1., .9, .8, .8, .8]))
    w = score_hlr_weights(4, 0, 4, k=0.5, bias=0.)
    torch.testing.assert_close(w, torch.tensor([1., .75, .5, .25]).sqrt())
    assert torch.equal(score_hlr_weights(0, 3, 0), torch.ones(3))


def test_descending_code_orders_like_keys_descending():
    keys = torch.tensor([0.5, -0.0, 0.0, -2.5, float('inf'), 1e-40, -1e-40,
                         3.0, -float('inf'), 0.5, 1.0 + 2**-23, 1.0])
    codes = descending_code(keys)
    assert codes.dtype == torch.long and (codes >= 0).all()
    assert (codes < 2**32).all()
    for i in range(keys.numel()):
        for j in range(keys.numel()):
            # Codes compare as the keys do, reversed; -0.0 equals 0.0.
            assert (codes[i] < codes[j]) == bool(keys[i] > keys[j])
            assert (codes[i] == codes[j]) == bool(keys[i] == keys[j])
    half = torch.tensor([0.25, -1., 0.5], dtype=torch.float16)
    assert descending_code(half).argsort().tolist() == [2, 0, 1]


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_segment_rank_negative_keys_and_ties(dtype):
    g = torch.Generator().manual_seed(5)
    # Few distinct values, half of them negative: many ties.
    keys = (torch.randint(-4, 4, (300, ), generator=g) / 2).to(dtype)
    segments = torch.randint(7, (300, ), generator=g)
    rank = segment_rank(keys, segments)
    for i in range(300):
        same = segments == segments[i]
        before = (keys > keys[i]) | ((keys == keys[i]) &
                                     (torch.arange(300) < i))
        assert rank[i] == (same & before).sum()

