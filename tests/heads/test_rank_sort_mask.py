"""RS-Mask R-CNN's heads, imbalance_plugin.RankSortMaskHead and
RankSortRoIHead: the Dice loss against the formula written out RoI by RoI,
its score weighting and the tuning-free balance (the value of the RoI head's
Rank & Sort Loss, the gradient of ``L_cls / L_mask`` (detached) times
``L_mask``), no positives, the weights and ranking loss the RoI head hands
over (and with them the capped random subset of positives), the build-time
refusals naming their key, and one training step of the detector built from
the COCO config (shrunk; no pretrained weights)."""

import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import ConfigDict
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData

from imbalance_plugin.heads import (
    RankSortBBoxHead,
    RankSortMaskHead,
    RankSortRoIHead,
)
from imbalance_plugin.heads.rank_sort_mask_head import (
    dice_loss_per_roi,
    weighted_mean,
)
from imbalance_plugin.registry import MODELS
from tests.configs.cfg_helpers import CONFIGS, delta, load, tiny_mask_rcnn

RS_MASK_RCNN = 'ranking/mask-rcnn_r50_fpn_rank-sort-1x_coco.py'
RS_RCNN = 'ranking/faster-rcnn_r50_fpn_rank-sort-1x_coco.py'
#: what RS-Mask R-CNN changes beyond RS-R-CNN's keys
MASK_KEYS = ('model.roi_head.type', 'model.roi_head.max_mask_rois',
             'model.roi_head.mask_head.type',
             'model.roi_head.mask_head.loss_mask')
NUM_CLASSES = 4
MASK = 28
IMG = 64

pytestmark = pytest.mark.usefixtures('eager_single_thread')


def mask_cfg(**over):
    cfg = dict(type='imbalance_plugin.RankSortMaskHead', num_convs=1,
               in_channels=8, conv_out_channels=8, num_classes=NUM_CLASSES)
    cfg.update(over)
    return cfg


def roi_cfg(mask_head=None, **over):
    cfg = dict(
        type='imbalance_plugin.RankSortRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=8, featmap_strides=[4, 8]),
        bbox_head=dict(
            type='imbalance_plugin.RankSortBBoxHead', in_channels=8,
            fc_out_channels=16, roi_feat_size=7, num_classes=NUM_CLASSES,
            reg_decoded_bbox=True,
            loss_cls=dict(type='imbalance_plugin.RankSortLoss', delta=0.5),
            loss_bbox=dict(type='GIoULoss', reduction='none')),
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=8, featmap_strides=[4, 8]),
        mask_head=mask_head or mask_cfg(),
        train_cfg=ConfigDict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                          neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=10**10, pos_fraction=0.25,
                         neg_pos_ub=-1, add_gt_as_proposals=True),
            mask_size=MASK, pos_weight=-1, debug=False))
    cfg.update(over)
    return cfg


def _dice_by_hand(logits, targets, labels):
    """1 - Dice of each RoI, one RoI at a time, from the formula."""
    losses = []
    for i in range(len(labels)):
        p = torch.sigmoid(logits[i, labels[i]])
        t = targets[i]
        dice = 2 * (p * t).sum() / ((p ** 2).sum() + (t ** 2).sum() + 1e-5)
        losses.append(1 - dice)
    return torch.stack(losses)


def _mask_inputs(seed=0, num=7):
    gen = torch.Generator().manual_seed(seed)
    logits = (2 * torch.randn(num, NUM_CLASSES, MASK, MASK, generator=gen)
              ).requires_grad_()
    targets = (torch.rand(num, MASK, MASK, generator=gen) > 0.6).float()
    targets[0] = 0  # an empty target mask: finite, eps in the divisor
    labels = torch.randint(0, NUM_CLASSES, (num,), generator=gen)
    weights = torch.rand(num, generator=gen)
    loss_cls = torch.tensor(0.8, requires_grad=True)
    return logits, targets, labels, weights, loss_cls


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_dice_loss_per_roi_is_the_formula(seed):
    logits, targets, labels, _, _ = _mask_inputs(seed)
    rows = torch.arange(len(labels))
    ours = dice_loss_per_roi(logits[rows, labels].sigmoid(), targets)
    torch.testing.assert_close(ours, _dice_by_hand(logits, targets, labels))
    assert bool(((ours >= 0) & (ours <= 1)).all())


@pytest.mark.parametrize('seed', [0, 1])
def test_mask_loss_is_the_score_weighted_dice_balanced_to_loss_cls(seed):
    head = MODELS.build(mask_cfg())
    assert isinstance(head, RankSortMaskHead) and head.loss_mask is None
    logits, targets, labels, weights, loss_cls = _mask_inputs(seed)
    loss = head.loss(logits, targets, labels, weights, loss_cls)
    per_roi = _dice_by_hand(logits, targets, labels)
    l_mask = (weights * per_roi).sum() / weights.sum()
    # lambda * L_mask = L_cls in value
    torch.testing.assert_close(loss, loss_cls.detach())
    assert not torch.isclose(l_mask, loss_cls)  # so lambda did something
    # the gradient of (L_cls / L_mask, detached) * L_mask, none to L_cls
    reference = (loss_cls.detach() / l_mask.detach()) * l_mask
    ours, to_cls = torch.autograd.grad(loss, (logits, loss_cls),
                                       allow_unused=True)
    theirs, = torch.autograd.grad(reference, logits)
    torch.testing.assert_close(ours, theirs)
    assert to_cls is None
    # only the logits of each RoI's class are trained, each RoI by its w_i
    others = torch.ones_like(logits, dtype=torch.bool)
    others[torch.arange(len(labels)), labels] = False
    assert torch.count_nonzero(ours[others]) == 0
    unweighted = MODELS.build(mask_cfg()).loss(
        logits, targets, labels, torch.ones_like(weights), loss_cls)
    theirs, = torch.autograd.grad(unweighted, logits)
    assert not torch.allclose(ours, theirs)


def test_class_agnostic_mask_loss_uses_the_single_channel():
    head = MODELS.build(mask_cfg(class_agnostic=True))
    logits, targets, labels, weights, loss_cls = _mask_inputs(3)
    logits = logits[:, :1].detach().requires_grad_()
    loss = head.loss(logits, targets, labels, weights, loss_cls)
    per_roi = _dice_by_hand(logits, targets, torch.zeros_like(labels))
    l_mask = (weights * per_roi).sum() / weights.sum()
    theirs, = torch.autograd.grad(loss_cls.detach() / l_mask.detach()
                                  * l_mask, logits)
    ours, = torch.autograd.grad(loss, logits)
    torch.testing.assert_close(loss, loss_cls.detach())
    torch.testing.assert_close(ours, theirs)


def test_weights_summing_to_almost_nothing_divide_by_one():
    per_roi = torch.tensor([0.5, 0.25, 1.0])
    tiny = torch.tensor([1e-12, 2e-12, 3e-12])
    torch.testing.assert_close(weighted_mean(per_roi, tiny),
                               (tiny * per_roi).sum())
    weights = torch.tensor([0.2, 0.3, 0.5])
    torch.testing.assert_close(weighted_mean(per_roi, weights),
                               (weights * per_roi).sum() / weights.sum())
    head = MODELS.build(mask_cfg())
    logits, targets, labels, _, loss_cls = _mask_inputs(4)
    loss = head.loss(logits, targets, labels, torch.zeros(len(labels)),
                     loss_cls)
    grad, = torch.autograd.grad(loss, logits)
    assert torch.isfinite(loss) and bool(torch.isfinite(grad).all())


def test_mask_loss_without_positives_is_zero_with_a_gradient_path():
    head = MODELS.build(mask_cfg())
    logits = torch.randn(0, NUM_CLASSES, MASK, MASK, requires_grad=True)
    loss = head.loss(logits, torch.zeros(0, MASK, MASK),
                     torch.zeros(0, dtype=torch.long), torch.zeros(0),
                     torch.tensor(0.7))
    assert loss == 0 and loss.requires_grad
    grad, = torch.autograd.grad(loss, logits)
    assert grad.shape == logits.shape


def _features_and_proposals(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = tuple(torch.randn(2, 8, IMG // s, IMG // s, generator=gen)
              for s in (4, 8))
    boxes = torch.tensor([[4., 6., 30., 40.], [28., 20., 60., 58.],
                          [10., 36., 34., 62.]])
    samples, proposals = [], []
    for i in range(2):
        count = 2 + i
        masks = torch.zeros(count, IMG, IMG, dtype=torch.uint8)
        for j, (x1, y1, x2, y2) in enumerate(boxes[:count].int()):
            masks[j, y1:y2, x1 + 2:x2 - 2] = 1
        sample = DetDataSample(metainfo=dict(
            img_shape=(IMG, IMG), ori_shape=(IMG, IMG),
            scale_factor=(1.0, 1.0), batch_input_shape=(IMG, IMG)))
        sample.gt_instances = InstanceData(
            bboxes=boxes[:count],
            labels=torch.tensor([0, 2, 3][:count]),
            masks=BitmapMasks(masks.numpy(), IMG, IMG))
        samples.append(sample)
        jitter = boxes[:count].repeat(6, 1) + 4 * torch.randn(
            6 * count, 4, generator=gen)
        corner = torch.rand(20, 2, generator=gen) * 40
        noise = torch.cat((corner, corner + 6 + 18 * torch.rand(
            20, 2, generator=gen)), 1)
        proposals.append(InstanceData(bboxes=torch.cat((jitter, noise))))
    return x, proposals, samples


def _record(module, name):
    calls = []
    real = getattr(module, name)

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    setattr(module, name, recording)
    return calls


@pytest.mark.parametrize('max_mask_rois', [None, 16])
def test_roi_head_hands_the_mask_head_the_box_weights_and_loss_cls(
        max_mask_rois):
    torch.manual_seed(0)
    head = MODELS.build(roi_cfg(max_mask_rois=max_mask_rois))
    assert isinstance(head, RankSortRoIHead)
    assert isinstance(head.bbox_head, RankSortBBoxHead)
    box_calls = _record(head.bbox_head, 'loss')
    mask_calls = _record(head.mask_head, 'loss')
    mask_rois = []
    head.mask_roi_extractor.register_forward_hook(
        lambda module, args, out: mask_rois.append(args[1]))
    x, proposals, samples = _features_and_proposals()
    losses = head.loss(x, proposals, samples)
    assert sorted(losses) == ['loss_bbox', 'loss_cls', 'loss_mask']
    (cls_score, _, rois, labels, *_), _ = box_calls[0]
    positive = (labels < NUM_CLASSES).nonzero().view(-1)
    expected = cls_score.detach()[positive].sigmoid().max(1).values
    (preds, targets, mask_labels, weights, loss_cls), _ = mask_calls[0]
    torch.testing.assert_close(loss_cls, losses['loss_cls'])
    torch.testing.assert_close(losses['loss_mask'], losses['loss_cls'])
    # every positive, or the cap, each with its own box weight and label
    count = len(positive) if max_mask_rois is None else max_mask_rois
    assert len(positive) > 16 and preds.shape[0] == count
    # the drawn positives come from both images, kept image after image
    assert mask_rois[0][:, 0].unique().tolist() == [0., 1.]
    assert bool((mask_rois[0][1:, 0] >= mask_rois[0][:-1, 0]).all())
    where = [int(((rois[positive] == r).all(1)).nonzero()[0])
             for r in mask_rois[0]]
    assert len(set(where)) == count
    torch.testing.assert_close(weights, expected[where])
    assert mask_labels.tolist() == labels[positive][where].tolist()
    assert targets.shape == (count, MASK, MASK)
    params = [p for p in head.parameters() if p.requires_grad]
    grads = torch.autograd.grad(sum(losses.values()), params,
                                allow_unused=True)
    mask_grads = [g for p, g in zip(params, grads)
                  if any(p is q for q in head.mask_head.parameters())]
    assert all(g is not None and bool(torch.isfinite(g).all())
               for g in mask_grads)
    assert sum(g.abs().sum() for g in mask_grads) > 0


@pytest.mark.parametrize('cfg, key', [
    (roi_cfg(mask_head=dict(
        type='FCNMaskHead', num_convs=1, in_channels=8, conv_out_channels=8,
        num_classes=NUM_CLASSES)), 'mask_head'),
    (roi_cfg(bbox_head=dict(
        type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16,
        roi_feat_size=7, num_classes=NUM_CLASSES)), 'bbox_head'),
    (roi_cfg(max_mask_rois=0), 'max_mask_rois'),
    (mask_cfg(loss_mask=dict(type='CrossEntropyLoss', use_mask=True)),
     'loss_mask'),
    (mask_cfg(dice_eps=0.0), 'dice_eps'),
])
def test_heads_refuse_settings_they_can_not_train_with(cfg, key):
    with pytest.raises(ValueError, match=key):
        MODELS.build(cfg)


def test_mask_head_refuses_to_run_without_the_weights():
    head = MODELS.build(mask_cfg())
    with pytest.raises(ValueError, match='positive_weights'):
        head.loss_and_target(torch.zeros(0, NUM_CLASSES, MASK, MASK), [], [],
                             ConfigDict(mask_size=MASK))


def test_coco_config_is_rs_rcnn_on_mmdet_mask_rcnn_with_the_mask_keys():
    ours = delta(load(CONFIGS / RS_MASK_RCNN),
                 load(CONFIGS / 'mask_rcnn/mask-rcnn_r50_fpn_ce-1x_coco.py'))
    rs_rcnn = delta(load(CONFIGS / RS_RCNN), load(
        CONFIGS / 'faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'))
    # RS-R-CNN's changes, each with its value, on mmdet's Mask R-CNN ...
    assert {k: ours.get(k) for k in rs_rcnn} == rs_rcnn
    # ... and only the RoI head's and the mask head's type and settings
    extra = sorted(k for k in ours if k not in rs_rcnn)
    assert extra and all(
        any(k == m or k.startswith(m + '.') for m in MASK_KEYS)
        for k in extra)


def test_coco_config_builds_the_rs_mask_rcnn_heads():
    cfg = load(CONFIGS / RS_MASK_RCNN)
    roi = cfg.model.roi_head
    assert cfg.model.type == 'MaskRCNN'
    assert roi.type == 'imbalance_plugin.RankSortRoIHead'
    assert roi.max_mask_rois == 200
    assert roi.mask_head.type == 'imbalance_plugin.RankSortMaskHead'
    assert roi.mask_head.loss_mask is None
    assert cfg.model.train_cfg.rcnn.sampler.num == 10**10
    assert cfg.model.test_cfg.rcnn.score_thr == 0.40
    assert cfg.optim_wrapper.optimizer.lr == 0.012
    cfg.model.backbone.init_cfg = None  # never a download
    detector = MODELS.build(cfg.model)
    assert type(detector.roi_head) is RankSortRoIHead
    assert type(detector.roi_head.mask_head) is RankSortMaskHead
    assert detector.roi_head.mask_head.num_classes == 80


def test_coco_detector_trains_a_step_with_balanced_finite_losses():
    cfg = load(CONFIGS / RS_MASK_RCNN)
    torch.manual_seed(0)
    model = MODELS.build(tiny_mask_rcnn(cfg.model))
    model.train()
    _, _, samples = _features_and_proposals()
    for sample in samples:
        sample.gt_instances.labels = sample.gt_instances.labels * 20
    inputs = [torch.randint(0, 256, (3, IMG, IMG), dtype=torch.uint8)
              for _ in samples]
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples),
                                   True)
    losses = model(**data, mode='loss')
    assert sorted(losses) == ['loss_bbox', 'loss_cls', 'loss_mask',
                              'loss_rpn_bbox', 'loss_rpn_cls']
    for value in losses.values():
        assert torch.isfinite(value)
    torch.testing.assert_close(losses['loss_mask'], losses['loss_cls'])
    torch.testing.assert_close(losses['loss_bbox'], losses['loss_cls'])
    loss, _ = model.parse_losses(losses)
    optim.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > 0.5 * len(list(model.parameters()))
    assert all(bool(torch.isfinite(g).all()) for g in grads)
    mask_grads = [p.grad for p in model.roi_head.mask_head.parameters()]
    assert all(g is not None for g in mask_grads)
    assert sum(g.abs().sum() for g in mask_grads) > 0
