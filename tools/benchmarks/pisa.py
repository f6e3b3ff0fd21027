"""PISA against mmdet 3.3.0's: ISR-P, the RetinaNet head, Score-HLR sampling,
a Faster R-CNN step. Each row is judged against the work both sides must
do, its plain column, or against mmdet's time.

* ``isr_p``: ISR-P weights of a RetinaNet batch (2 images, 100 ground truths
  each, 3,000 positives, 80 classes, 100,000 anchors), from flattened head
  outputs to new label weights; mmdet's ``isr_p`` on the same tensors. Both
  sides call ``loss_cls`` once more on the positives for the
  renormalisation; plain times that call alone, and ours is what
  PISARetinaHead does beyond it (select, decode, rank, weight, renormalise).
  Target: ours <= plain.
* ``retina_head``: a whole ``PISARetinaHead.loss_by_feat`` (targets, ISR-P,
  classification, regression and CARL losses) and its backward, RetinaNet
  settings (sigmoid Focal, smooth L1, ISR-P k=2, CARL k=1 bias 0.2), 2
  images of 512 x 512 with 100 ground truths each, 80 classes, 98,208
  anchors. Ours as the plugin's PISA RetinaNet config builds it (the
  plugin's Focal Loss), mmdet's PISARetinaHead as mmdet's config builds it
  (mmdet's Focal Loss), on the same inputs and weights; plain is RetinaHead
  (no PISA) with ours' loss. Target: mmdet / ours >= 1.1. A second row,
  without a target, gives both heads mmdet's Focal Loss: the heads alone
  (plain: RetinaHead with that loss).
* ``score_hlr``: Score-HLR sampling of 2 images with 2,000 negatives each and
  80 classes; the RoI-head forward is replaced on both sides by the same
  precomputed scores and deltas. Plain is the work both sides share: mmcv's
  ``nms_match`` kernel on the valid negatives of the two images. Target:
  ours <= 3 x plain.
* ``pisa_faster_rcnn``: one training iteration (forward, backward) of the toy
  Faster R-CNN (configs/toy) with 2,000 proposals per image: ours with the
  plugin's PISARoIHead and ScoreHLRSampler, mmdet's with its own; plain is
  the same detector without PISA (StandardRoIHead, RandomSampler). Target:
  mmdet / ours >= 1.1 (the sampler is under 1% of the iteration).
"""
import copy
from pathlib import Path

import torch
from mmcv.ops.nms import ext_module as mmcv_ext
from mmdet.models.losses import FocalLoss
from mmdet.models.losses import isr_p as mmdet_isr_p
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.models.task_modules.samplers import (
    ScoreHLRSampler as MMDetScoreHLRSampler,
)
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData

from benchmarks import Case
from imbalance_plugin.heads.isr_p import isr_p_label_weights
from imbalance_plugin.registry import MODELS
from imbalance_plugin.samplers import ScoreHLRSampler
from imbalance_plugin.structures.positives import positive_indices

REPO = Path(__file__).resolve().parents[2]
NUM_CLASSES = 80


def _boxes_around(centres, n, spread, size, generator):
    pick = torch.randint(centres.size(0), (n, ), generator=generator)
    xy = centres[pick] + torch.randn(n, 2, generator=generator) * spread
    wh = size * (0.5 + torch.rand(n, 2, generator=generator))
    return torch.cat([xy - wh / 2, xy + wh / 2], 1)


def isr_p_case(device):
    g = torch.Generator().manual_seed(0)
    num_imgs, per_img, num_gts, num_pos = 2, 50_000, 100, 1_500
    labels, samplings, anchors = [], [], []
    for img in range(num_imgs):
        gt_labels = torch.randint(NUM_CLASSES, (num_gts, ), generator=g)
        pos = torch.randperm(per_img, generator=g)[:num_pos].sort().values
        assigned = torch.randint(num_gts, (num_pos, ), generator=g)
        img_labels = torch.full((per_img, ), NUM_CLASSES)
        img_labels[pos] = gt_labels[assigned]
        labels.append(img_labels)
        samplings.append(
            type('SamplingResult', (), dict(pos_assigned_gt_inds=assigned,
                                            num_gts=num_gts)))
        anchors.append(
            _boxes_around(torch.rand(200, 2, generator=g) * 800, per_img,
                          40., 64., g))
    n = num_imgs * per_img
    labels = torch.cat(labels).to(device)
    label_weights = torch.ones(n, device=device)
    bbox_targets = (0.1 * torch.randn(n, 4, generator=g)).to(device)
    bbox_weights = torch.ones(n, 4, device=device)
    anchors = torch.cat(anchors).to(device)
    cls_score = torch.randn(n, NUM_CLASSES, generator=g).to(device)
    bbox_pred = (0.1 * torch.randn(n, 4, generator=g)).to(device)
    for res in samplings:
        res.pos_assigned_gt_inds = res.pos_assigned_gt_inds.to(device)
    loss_cls = FocalLoss(use_sigmoid=True, gamma=2.0, alpha=0.25)
    coder = DeltaXYWHBBoxCoder()

    def gt_groups():
        offsets = [0, num_gts]
        return torch.cat([
            res.pos_assigned_gt_inds + off
            for res, off in zip(samplings, offsets)
        ])

    def loss_alone():
        # The positives' loss both sides compute for the renormalisation:
        # mmdet's isr_p calls loss_cls on them, so does PISARetinaHead.
        with torch.no_grad():
            pos = positive_indices(labels, NUM_CLASSES)
            return loss_cls(cls_score[pos], labels[pos],
                            reduction_override='none')

    pos_loss = loss_alone()

    def ours():
        pos = positive_indices(labels, NUM_CLASSES)
        return isr_p_label_weights(pos, pos_loss, bbox_pred, anchors, labels,
                                   label_weights, bbox_targets, gt_groups(),
                                   coder, k=2., bias=0.)

    def reference():
        with torch.no_grad():
            return mmdet_isr_p(cls_score, bbox_pred,
                               (labels, label_weights.clone(), bbox_targets,
                                bbox_weights), anchors, samplings, loss_cls,
                               coder, k=2., bias=0.,
                               num_class=NUM_CLASSES)[1]

    torch.testing.assert_close(ours(), reference(), rtol=1e-5, atol=1e-7)
    return Case(
        name='ISR-P (IoU-HLR weights)',
        setting='2 img x 100 gt, 3000 pos, 80 cls, 100k anc',
        ours=ours,
        reference=reference,
        plain=loss_alone,
        plain_name='loss_cls on positives',
        # ISR-P's own cost (beyond the shared loss call) no more than it.
        targets={'max_vs_plain': 1.0})


MMDET_FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                   loss_weight=1.0)
PLUGIN_FOCAL = dict(MMDET_FOCAL, type='imbalance_plugin.FocalLoss')


def _retina_head_cfg(pisa, loss_cls):
    """RetinaNet's head settings (mmdet's PISA RetinaNet config), 80
    classes; without ``pisa`` plain RetinaNet."""
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                      neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
        debug=False)
    if pisa:
        train_cfg.update(isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))
    return dict(
        num_classes=NUM_CLASSES, in_channels=8, stacked_convs=1,
        feat_channels=8,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                              strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=loss_cls,
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0),
        train_cfg=Config(train_cfg))


def retina_head_case(device, ours_loss=PLUGIN_FOCAL):
    """The PISA RetinaHead row: ours with ``ours_loss`` (the plugin's Focal
    Loss, as the plugin's PISA RetinaNet config ships, or mmdet's), mmdet's
    PISA head with mmdet's Focal Loss, plain RetinaHead with ``ours_loss``.
    """
    g = torch.Generator().manual_seed(0)
    size, num_imgs, num_gts = 512, 2, 100
    heads = dict(
        ours=MODELS.build(dict(type='imbalance_plugin.PISARetinaHead',
                               **_retina_head_cfg(True, ours_loss))),
        reference=MMDET_MODELS.build(dict(
            type='PISARetinaHead', **_retina_head_cfg(True, MMDET_FOCAL))),
        plain=MMDET_MODELS.build(dict(type='RetinaHead',
                                      **_retina_head_cfg(False, ours_loss))))
    channels = heads['ours'].num_base_priors * NUM_CLASSES
    cls_scores = [
        torch.randn(num_imgs, channels, size // s, size // s,
                    generator=g).to(device) for s in (8, 16, 32, 64, 128)
    ]
    bbox_preds = [
        0.1 * torch.randn(num_imgs, 36, size // s, size // s,
                          generator=g).to(device) for s in (8, 16, 32, 64, 128)
    ]
    gts = []
    for _ in range(num_imgs):
        xy = torch.rand(num_gts, 2, generator=g) * (size - 100)
        wh = 24 + torch.rand(num_gts, 2, generator=g) * 200
        gts.append(
            InstanceData(bboxes=torch.cat([xy, (xy + wh).clamp(max=size)],
                                          1).to(device),
                         labels=torch.randint(NUM_CLASSES, (num_gts, ),
                                              generator=g).to(device)))
    metas = [dict(img_shape=(size, size), pad_shape=(size, size))] * num_imgs

    def step(which):
        scores = [c.detach().requires_grad_() for c in cls_scores]
        preds = [b.detach().requires_grad_() for b in bbox_preds]
        losses = heads[which].loss_by_feat(scores, preds, gts, metas)
        # RetinaHead returns one loss per level, PISA heads one in all.
        sum(part.sum() for value in losses.values()
            for part in (value if isinstance(value, list) else [value])
            ).backward()
        return losses, [c.grad for c in scores + preds]

    (a, grads_a), (b, grads_b) = step('ours'), step('reference')
    for key in b:
        torch.testing.assert_close(a[key].sum(), b[key].sum(), rtol=1e-5,
                                   atol=1e-7)
    for x, y in zip(grads_a, grads_b):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-7)
    same_loss = ours_loss is MMDET_FOCAL
    return Case(
        name='PISA RetinaHead loss + backward' +
        (', mmdet Focal both' if same_loss else ''),
        setting='2 img x 100 gt, 80 cls, 98k anc, 512 px',
        ours=lambda: step('ours'),
        reference=lambda: step('reference'),
        plain=lambda: step('plain'),
        plain_name='RetinaHead (no PISA)',
        # ours <= mmdet's time / 1.1. With mmdet's loss on both sides the
        # row shows the heads alone and has no target.
        targets={} if same_loss else {'min_speedup': 1.1})


class _PrecomputedContext:
    """A RoI head whose forward returns stored scores and deltas."""

    def __init__(self, bbox_head):
        self.bbox_head = bbox_head
        self.bbox_roi_extractor = None
        self.with_shared_head = False
        self.outputs = None

    def _bbox_forward(self, feats, rois):
        return self.outputs


def score_hlr_case(device):
    g = torch.Generator().manual_seed(0)
    bbox_head = MMDET_MODELS.build(
        dict(
            type='BBoxHead',
            with_avg_pool=False,
            roi_feat_size=1,
            in_channels=4,
            num_classes=NUM_CLASSES,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                            target_means=[0.] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss'),
            loss_bbox=dict(type='SmoothL1Loss'))).to(device)
    context = _PrecomputedContext(bbox_head)
    images = []
    num_neg, num_gts = 2_000, 10
    for _ in range(2):
        gt_centres = torch.rand(num_gts, 2, generator=g) * 700 + 50
        priors = _boxes_around(gt_centres, num_neg + 200, 30., 90., g)
        gt_bboxes = torch.cat([gt_centres - 40, gt_centres + 40], 1)
        gt_inds = torch.zeros(num_neg + 200, dtype=torch.long)
        gt_inds[:200] = torch.randint(num_gts, (200, ), generator=g) + 1
        gt_labels = torch.randint(NUM_CLASSES, (num_gts, ), generator=g)
        labels = torch.full_like(gt_inds, -1)
        labels[:200] = gt_labels[gt_inds[:200] - 1]
        # Background logit high enough that about half of the negatives are
        # valid (max foreground score > 0.05), as for a detector in training.
        logits = torch.randn(num_neg, NUM_CLASSES + 1, generator=g) * 1.5
        logits[:, -1] += 6.
        images.append(
            dict(
                priors=InstanceData(priors=priors.to(device)),
                gt=InstanceData(bboxes=gt_bboxes.to(device),
                                labels=gt_labels.to(device)),
                assign=(num_gts, gt_inds.to(device),
                        torch.rand(num_neg + 200, generator=g).to(device),
                        labels.to(device)),
                outputs=dict(
                    cls_score=logits.to(device),
                    bbox_pred=(0.5 * torch.randn(
                        num_neg, 4 * NUM_CLASSES, generator=g)).to(device))))
    kwargs = dict(num=512, pos_fraction=0.25, context=context)
    samplers = dict(ours=ScoreHLRSampler(**kwargs),
                    reference=MMDetScoreHLRSampler(**kwargs))

    def step(which):
        out = []
        for image in images:
            num_gts, gt_inds, overlaps, labels = image['assign']
            assign = AssignResult(num_gts, gt_inds.clone(), overlaps,
                                  labels.clone())
            context.outputs = image['outputs']
            out.append(samplers[which].sample(assign, image['priors'],
                                              image['gt'], feats=None))
        return out

    # Work both sides must do: mmcv's nms_match kernel on the valid
    # negatives' decoded boxes (max foreground score > 0.05).
    dets = []
    for image in images:
        logits = image['outputs']['cls_score']
        score, best = logits.softmax(-1)[:, :NUM_CLASSES].max(-1)
        valid = (score > 0.05).nonzero().view(-1)
        deltas = image['outputs']['bbox_pred'].view(num_neg, -1, 4)[
            valid, best[valid]]
        boxes = bbox_head.bbox_coder.decode(
            image['priors'].priors[200:][valid], deltas)
        dets.append(torch.cat([boxes, score[valid, None]], 1))

    def nms_match_alone():
        return [mmcv_ext.nms_match(d, iou_threshold=0.5) for d in dets]

    torch.manual_seed(0)
    a = step('ours')
    torch.manual_seed(0)
    b = step('reference')
    for (ra, wa), (rb, wb) in zip(a, b):
        # Scores this dense tie in mmdet's float32 keys, which its unstable
        # sort orders arbitrarily: the samples agree up to those ties.
        shared = set(ra.neg_inds.tolist()) & set(rb.neg_inds.tolist())
        assert len(shared) >= 0.98 * rb.neg_inds.numel()
        torch.testing.assert_close(wa.sort().values, wb.sort().values,
                                   rtol=1e-3, atol=1e-6)
    return Case(
        name='Score-HLR sampler (ISR-N)',
        setting='2 img x 2000 neg, 80 cls, num 512',
        ours=lambda: step('ours'),
        reference=lambda: step('reference'),
        plain=nms_match_alone,
        plain_name='nms_match kernel',
        # At most 3x the kernel both sides run.
        targets={'max_vs_plain': 3})


def _toy_detector(roi_head_type, sampler_type, pisa, device):
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(REPO / 'configs/toy/faster-rcnn_pisa_toy.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.data_preprocessor = None
    model_cfg.train_cfg.rpn_proposal.update(nms_pre=2000, max_per_img=2000)
    model_cfg.roi_head.type = roi_head_type
    sampler = model_cfg.train_cfg.rcnn.sampler
    if pisa:
        sampler.type = sampler_type
    else:
        model_cfg.train_cfg.rcnn.sampler = dict(
            type='RandomSampler', num=sampler.num,
            pos_fraction=sampler.pos_fraction, neg_pos_ub=-1,
            add_gt_as_proposals=True)
        model_cfg.train_cfg.rcnn.pop('isr')
        model_cfg.train_cfg.rcnn.pop('carl')
    torch.manual_seed(0)
    return MMDET_MODELS.build(model_cfg).to(device).train()


def faster_rcnn_case(device):
    g = torch.Generator().manual_seed(0)
    size = 256
    inputs = torch.randn(2, 3, size, size, generator=g).to(device)
    samples = []
    for _ in range(2):
        xy = torch.rand(5, 2, generator=g) * (size - 80)
        bboxes = torch.cat([xy, xy + 24 + torch.rand(5, 2, generator=g) * 50],
                           1)
        sample = DetDataSample(
            metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                          batch_input_shape=(size, size),
                          scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=bboxes.to(device),
            labels=torch.randint(5, (5, ), generator=g).to(device))
        samples.append(sample)
    models = dict(
        ours=_toy_detector('imbalance_plugin.PISARoIHead',
                           'imbalance_plugin.ScoreHLRSampler', True, device),
        reference=_toy_detector('PISARoIHead', 'ScoreHLRSampler', True,
                                device),
        plain=_toy_detector('StandardRoIHead', None, False, device))
    models['reference'].load_state_dict(models['ours'].state_dict())
    models['plain'].load_state_dict(models['ours'].state_dict())

    def step(which):
        model = models[which]
        model.zero_grad()
        losses = model.loss(inputs, copy.deepcopy(samples))
        total, log_vars = model.parse_losses(losses)
        total.backward()
        return log_vars

    torch.manual_seed(0)
    a = step('ours')
    torch.manual_seed(0)
    b = step('reference')
    for key in b:
        assert abs(a[key] - b[key]) <= 1e-4 * abs(b[key]) + 1e-6, key
    return Case(
        name='PISA Faster R-CNN iteration',
        setting='toy R-18 FPN, 2 img x 2000 proposals',
        ours=lambda: step('ours'),
        reference=lambda: step('reference'),
        plain=lambda: step('plain'),
        plain_name='no PISA',
        # ours <= mmdet's time / 1.1 (the sampler is under 1% of it).
        targets={'min_speedup': 1.1})


def cases(device):
    return [isr_p_case(device), retina_head_case(device),
            retina_head_case(device, MMDET_FOCAL), score_hlr_case(device),
            faster_rcnn_case(device)]
