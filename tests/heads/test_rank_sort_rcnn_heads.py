"""RS-R-CNN's heads, imbalance_plugin.RankSortRPNHead and RankSortBBoxHead,
against an independent computation on a small batch: the rows flattened by
hand (image by image, level by level), targets from mmdet's assigner and
coder, the RS Loss kernel called directly, the score-weighted GIoU from
``bbox_overlaps``; values and gradients equal, the box loss balanced to the
ranking loss, every assigned anchor ranked (no sampling). The build-time
refusals name their key; the box head predicts sigmoid scores."""
import pytest
import torch
from mmdet.models.task_modules.assigners import MaxIoUAssigner
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from imbalance_plugin.functional.rank_sort import rank_sort_loss
from imbalance_plugin.heads import RankSortBBoxHead, RankSortRPNHead
from imbalance_plugin.registry import MODELS

IMG = 64
STRIDES = [4, 8]
NUM_CLASSES = 5


pytestmark = pytest.mark.usefixtures('eager_single_thread')


RPN_ASSIGNER = dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                    min_pos_iou=0.3, match_low_quality=True,
                    ignore_iof_thr=-1)


def rpn_cfg(**over):
    cfg = dict(
        type='imbalance_plugin.RankSortRPNHead',
        in_channels=8,
        feat_channels=8,
        head_weight=0.2,
        reg_decoded_bbox=True,
        anchor_generator=dict(type='AnchorGenerator', scales=[4],
                              ratios=[0.5, 1.0, 2.0], strides=STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='imbalance_plugin.RankSortLoss', delta=0.5),
        loss_bbox=dict(type='GIoULoss', reduction='none'),
        train_cfg=ConfigDict(assigner=RPN_ASSIGNER,
                             sampler=dict(type='PseudoSampler'),
                             allowed_border=-1, pos_weight=-1, debug=False))
    cfg.update(over)
    return cfg


def bbox_cfg(**over):
    cfg = dict(
        type='imbalance_plugin.RankSortBBoxHead',
        in_channels=8,
        fc_out_channels=16,
        roi_feat_size=7,
        num_classes=NUM_CLASSES,
        reg_decoded_bbox=True,
        loss_cls=dict(type='imbalance_plugin.RankSortLoss', delta=0.5),
        loss_bbox=dict(type='GIoULoss', reduction='none'))
    cfg.update(over)
    return cfg


def _gts(gen, counts):
    gts = []
    for count in counts:
        corner = torch.rand(count, 2, generator=gen) * 30
        size = 10 + torch.rand(count, 2, generator=gen) * 24
        gts.append(InstanceData(bboxes=torch.cat((corner, corner + size), 1),
                                labels=torch.zeros(count, dtype=torch.long)))
    return gts


def _rpn_inputs(seed=0, counts=(3, 2)):
    gen = torch.Generator().manual_seed(seed)
    sizes = [IMG // s for s in STRIDES]
    cls_scores = [torch.randn(2, 3, h, h, generator=gen).requires_grad_()
                  for h in sizes]
    bbox_preds = [(0.5 * torch.randn(2, 12, h, h, generator=gen))
                  .requires_grad_() for h in sizes]
    metas = [dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG),
                  batch_input_shape=(IMG, IMG))] * 2
    return cls_scores, bbox_preds, _gts(gen, counts), metas


def _by_hand(levels, width):
    """Image after image, level after level, (H, W, A) order within."""
    return torch.cat([level[i].permute(1, 2, 0).reshape(-1, width)
                      for i in range(levels[0].shape[0]) for level in levels])


def _giou_loss(boxes, targets):
    return 1 - bbox_overlaps(boxes, targets, mode='giou', is_aligned=True,
                             eps=1e-6)


def _balanced_reference(cls_rows, labels, weights, positive, boxes, targets):
    """L_RS (the kernel called directly) and lambda * L_box, the GIoU loss
    weighted by the positives' largest sigmoid scores."""
    ious = bbox_overlaps(boxes.detach(), targets, is_aligned=True)
    sorting = torch.zeros(len(labels))
    sorting[positive] = ious
    rank = rank_sort_loss(cls_rows, (labels, sorting), weights, delta=0.5)
    w = cls_rows.detach()[positive].sigmoid().max(1).values
    box = (w * _giou_loss(boxes, targets)).sum() / w.sum()
    return rank, rank.detach() / box.detach() * box


def _rpn_reference(head, cls_scores, bbox_preds, gts):
    """The RPN's losses with its rows, assignments and boxes computed here."""
    anchors = torch.cat(head.prior_generator.grid_priors(
        [c.shape[-2:] for c in cls_scores], device='cpu'))
    assigner = MaxIoUAssigner(**{k: v for k, v in RPN_ASSIGNER.items()
                                 if k != 'type'})
    cls_rows = _by_hand(cls_scores, 1)
    deltas = _by_hand(bbox_preds, 4)
    labels, weights, targets, priors, rows = [], [], [], [], []
    for i, gt in enumerate(gts):
        gt_inds = assigner.assign(InstanceData(priors=anchors), gt).gt_inds
        positive = (gt_inds > 0).nonzero().view(-1)
        labels.append(torch.where(gt_inds > 0, 0, 1))
        weights.append((gt_inds >= 0).float())
        targets.append(gt.bboxes[gt_inds[positive] - 1])
        priors.append(anchors[positive])
        rows.append(positive + i * len(anchors))
    labels, weights = torch.cat(labels), torch.cat(weights)
    positive = torch.cat(rows)
    boxes = head.bbox_coder.decode(torch.cat(priors), deltas[positive])
    rank, box = _balanced_reference(cls_rows, labels, weights, positive,
                                    boxes, torch.cat(targets))
    return rank, box, weights


def _grads(losses, inputs):
    total = sum(losses)
    return torch.autograd.grad(total, inputs)


def test_rpn_losses_are_rank_sort_of_every_assigned_anchor_and_balanced_giou():
    head = MODELS.build(rpn_cfg())
    assert isinstance(head, RankSortRPNHead)
    assert head.cls_out_channels == 1  # one sigmoid objectness logit
    cls_scores, bbox_preds, gts, metas = _rpn_inputs()
    seen = []
    head.loss_cls.register_forward_hook(
        lambda module, args, out: seen.append(args))
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    rank, box, weights = _rpn_reference(head, cls_scores, bbox_preds, gts)
    torch.testing.assert_close(losses['loss_rpn_cls'], 0.2 * rank)
    torch.testing.assert_close(losses['loss_rpn_bbox'], 0.2 * box)
    # the tuning-free balance: the box loss weighs as the ranking loss
    torch.testing.assert_close(losses['loss_rpn_bbox'],
                               losses['loss_rpn_cls'])
    assert rank > 0
    # no sampling: one call on all anchors of the batch, every assigned one
    # (positive or negative) ranked, far more than RPN's 256 per image
    (pred, (labels, _), label_weights), = seen
    assert pred.shape == (len(weights), 1)
    torch.testing.assert_close((label_weights > 0).float(), weights)
    assert (labels == 0).sum() > 0 and weights.sum() > 2 * 256
    inputs = cls_scores + bbox_preds
    ours = _grads(losses.values(), inputs)
    theirs = _grads((0.2 * rank, 0.2 * box), inputs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    # both branches are trained: the logits and the positives' deltas
    assert sum(g.abs().sum() for g in ours[:2]) > 0
    assert sum(g.abs().sum() for g in ours[2:]) > 0


def test_rpn_head_weight_scales_the_whole_rpn_loss():
    cls_scores, bbox_preds, gts, metas = _rpn_inputs(seed=1)
    full = MODELS.build(rpn_cfg(head_weight=1.0)).loss_by_feat(
        cls_scores, bbox_preds, gts, metas)
    part = MODELS.build(rpn_cfg()).loss_by_feat(
        cls_scores, bbox_preds, gts, metas)
    for key in ('loss_rpn_cls', 'loss_rpn_bbox'):
        torch.testing.assert_close(part[key], 0.2 * full[key])


def test_rpn_without_objects_gives_zero_losses_and_gradients():
    head = MODELS.build(rpn_cfg())
    cls_scores, bbox_preds, gts, metas = _rpn_inputs(counts=(0, 0))
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    assert all(v == 0 for v in losses.values())
    for grad in _grads(losses.values(), cls_scores + bbox_preds):
        assert torch.count_nonzero(grad) == 0


def _roi_inputs(seed=0, num=48, positives=14, class_agnostic=False):
    gen = torch.Generator().manual_seed(seed)
    corner = torch.rand(num, 2, generator=gen) * 60
    boxes = torch.cat((corner, corner + 8 + torch.rand(num, 2, generator=gen)
                       * 30), 1)
    rois = torch.cat((torch.arange(num)[:, None].float() % 2, boxes), 1)
    labels = torch.full((num,), NUM_CLASSES)
    labels[:positives] = torch.randint(0, NUM_CLASSES, (positives,),
                                       generator=gen)
    targets = torch.zeros(num, 4)
    targets[:positives] = boxes[:positives] + 3 * torch.randn(
        positives, 4, generator=gen)
    width = 4 if class_agnostic else 4 * NUM_CLASSES
    cls_score = torch.randn(num, NUM_CLASSES, generator=gen).requires_grad_()
    bbox_pred = (0.3 * torch.randn(num, width, generator=gen)) \
        .requires_grad_()
    weights = torch.zeros(num, 4)
    weights[:positives] = 1
    return (cls_score, bbox_pred, rois, labels, torch.ones(num), targets,
            weights)


@pytest.mark.parametrize('class_agnostic', [False, True])
def test_bbox_head_losses_rank_all_rois_and_balance_the_giou(class_agnostic):
    head = MODELS.build(bbox_cfg(reg_class_agnostic=class_agnostic))
    assert isinstance(head, RankSortBBoxHead)
    assert head.fc_cls.out_features == NUM_CLASSES  # no background output
    (cls_score, bbox_pred, rois, labels, label_weights, targets,
     weights) = _roi_inputs(class_agnostic=class_agnostic)
    seen = []
    head.loss_cls.register_forward_hook(
        lambda module, args, out: seen.append(args))
    losses = head.loss(cls_score, bbox_pred, rois, labels, label_weights,
                       targets, weights)
    # mmdet's BBoxHead way: decode every class's box, take the label's
    positive = (labels < NUM_CLASSES).nonzero().view(-1)
    decoded = head.bbox_coder.decode(rois[:, 1:], bbox_pred)
    if class_agnostic:
        boxes = decoded[positive]
    else:
        boxes = decoded.view(len(labels), NUM_CLASSES, 4)[positive,
                                                          labels[positive]]
    rank, box = _balanced_reference(cls_score, labels, label_weights,
                                    positive, boxes, targets[positive])
    torch.testing.assert_close(losses['loss_cls'], rank)
    torch.testing.assert_close(losses['loss_bbox'], box)
    torch.testing.assert_close(losses['loss_bbox'], losses['loss_cls'])
    (pred, _, _), = seen
    assert pred.shape == cls_score.shape  # every RoI in one call
    inputs = (cls_score, bbox_pred)
    ours = _grads(losses.values(), inputs)
    theirs = _grads((rank, box), inputs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    # the box gradient reaches only the positives' deltas of their classes
    assert torch.count_nonzero(ours[1][len(positive):]) == 0
    assert torch.count_nonzero(ours[1][:len(positive)]) > 0


def test_bbox_head_without_positives_gives_zero_losses():
    head = MODELS.build(bbox_cfg())
    inputs = list(_roi_inputs(positives=0))
    losses = head.loss(*inputs)
    assert all(v == 0 for v in losses.values())
    for grad in _grads(losses.values(), inputs[:2]):
        assert torch.count_nonzero(grad) == 0


def test_bbox_head_predicts_sigmoid_scores():
    head = MODELS.build(bbox_cfg()).eval()
    roi = torch.tensor([[0., 10., 10., 40., 40.]])
    cls_score = torch.tensor([[2.0, -1.0, 0.5, -3.0, 1.0]])
    bbox_pred = torch.zeros(1, 4 * NUM_CLASSES)
    test_cfg = ConfigDict(score_thr=0.4, nms=dict(type='nms',
                                                  iou_threshold=0.5),
                          max_per_img=100)
    meta = dict(img_shape=(IMG, IMG), scale_factor=(1., 1.))
    result = head._predict_by_feat_single(roi, cls_score, bbox_pred, meta,
                                          rcnn_test_cfg=test_cfg)
    keep = cls_score[0].sigmoid() > 0.4
    torch.testing.assert_close(result.scores.sort().values,
                               cls_score[0].sigmoid()[keep].sort().values)
    assert sorted(result.labels.tolist()) == keep.nonzero().view(-1).tolist()
    torch.testing.assert_close(result.bboxes, roi[:, 1:].expand(3, 4))
    raw = head._predict_by_feat_single(roi, cls_score, bbox_pred, meta)
    assert raw.scores.shape == (1, NUM_CLASSES + 1)  # zero background
    assert raw.scores[0, -1] == 0
    empty = head._predict_by_feat_single(roi[:0], cls_score[:0],
                                         bbox_pred[:0], meta,
                                         rcnn_test_cfg=test_cfg)
    assert len(empty) == 0


@pytest.mark.parametrize('build, over, key', [
    (rpn_cfg, dict(loss_cls=dict(type='imbalance_plugin.FocalLoss')),
     'loss_cls'),
    (rpn_cfg, dict(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True)),
     'loss_cls'),
    (rpn_cfg, dict(loss_bbox=dict(type='GIoULoss')), 'loss_bbox'),
    (rpn_cfg, dict(reg_decoded_bbox=False), 'reg_decoded_bbox'),
    (rpn_cfg, dict(head_weight=-1.0), 'head_weight'),
    (rpn_cfg, dict(loss_cls=dict(type='imbalance_plugin.RankSortLoss',
                                 use_sigmoid=False)), 'use_sigmoid'),
    (rpn_cfg, dict(loss_cls=dict(type='imbalance_plugin.RankSortLoss',
                                 delta=1.5)), 'delta'),
    (bbox_cfg, dict(loss_cls=dict(type='imbalance_plugin.FocalLoss',
                                  use_sigmoid=True)), 'loss_cls'),
    (bbox_cfg, dict(loss_cls=dict(type='CrossEntropyLoss')), 'loss_cls'),
    (bbox_cfg, dict(loss_bbox=dict(type='GIoULoss')), 'loss_bbox'),
    (bbox_cfg, dict(reg_decoded_bbox=False), 'reg_decoded_bbox'),
    (bbox_cfg, dict(with_reg=False), 'with_reg'),
])
def test_heads_refuse_settings_they_can_not_train_with(build, over, key):
    with pytest.raises(ValueError, match=key):
        MODELS.build(build(**over))


def test_bbox_head_refuses_a_reduction_override():
    head = MODELS.build(bbox_cfg())
    with pytest.raises(ValueError, match='reduction_override'):
        head.loss(*_roi_inputs(), reduction_override='sum')

