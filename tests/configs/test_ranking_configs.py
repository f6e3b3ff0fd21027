"""The ranking-loss detectors: the toy configs (AP Loss and aLRP Loss in
RetinaNet) build and train two iterations; the heads rank the whole batch
in one loss call; RS-ATSS trains, balances its box loss to the ranking
loss and predicts without centerness; the heads refuse losses they can not
use."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import imbalance_plugin.heads  # noqa: F401  (registers the heads)
from cfg_helpers import CONFIGS, load
from imbalance_plugin.functional.alrp import alrp_loss
from imbalance_plugin.functional.ap_loss import ap_loss
from imbalance_plugin.structures.sample_batch import dense_batch

TOY_CONFIGS = ['toy/retinanet_ap-loss_toy.py', 'toy/retinanet_alrp_toy.py']
SIZE = 128


@pytest.fixture(autouse=True)
def _eager_single_thread(monkeypatch):
    monkeypatch.setenv('IMBALANCE_PLUGIN_COMPILE', '0')
    init_default_scope('mmdet')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _batch(seed=0, classes=5):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(2):
        inputs.append(torch.randint(0, 256, (3, SIZE, SIZE), generator=gen,
                                    dtype=torch.uint8))
        corner = torch.rand(3 + i, 2, generator=gen) * 80
        size = 12 + torch.rand(3 + i, 2, generator=gen) * 36
        sample = DetDataSample(metainfo=dict(
            img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
            scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat((corner, corner + size), 1),
            labels=torch.randint(0, classes, (3 + i,), generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _model(cfg):
    cfg = copy.deepcopy(cfg)
    cfg.backbone.init_cfg = None  # random weights: no pretraining
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.train()
    return model


def _train(model, steps=2):
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    before = [p.detach().clone() for p in model.parameters()]
    logs = [model.train_step(_batch(seed), optim) for seed in range(steps)]
    changed = sum(not torch.equal(b, p.detach())
                  for b, p in zip(before, model.parameters()))
    return logs, changed / len(before)


@pytest.mark.parametrize('name', TOY_CONFIGS)
def test_toy_config_builds_and_trains_two_iterations(name):
    model = _model(load(CONFIGS / name).model)
    logs, changed = _train(model)
    for log in logs:
        assert torch.isfinite(log['loss'])
        assert log['loss_cls'] > 0 and torch.isfinite(log['loss_bbox'])
    assert changed > 0.5
    loss = model.bbox_head.loss_cls
    if name.endswith('alrp_toy.py'):
        assert loss.sb_count.item() == 2  # the self-balance statistics
    model.eval()
    with torch.no_grad():
        results = model.test_step(_batch(5))
    assert len(results) == 2


def _head_and_features(name):
    model = _model(load(CONFIGS / name).model)
    batch = model.data_preprocessor(_batch(3), True)
    feats = model.extract_feat(batch['inputs'])
    head = model.bbox_head
    cls_scores, bbox_preds = head(feats)
    gts = [s.gt_instances for s in batch['data_samples']]
    metas = [s.metainfo for s in batch['data_samples']]
    return head, cls_scores, bbox_preds, gts, metas


def test_ranking_retina_head_ranks_the_whole_batch_at_once():
    head, cls_scores, bbox_preds, gts, metas = _head_and_features(
        'toy/retinanet_ap-loss_toy.py')
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    rows = dense_batch(head, cls_scores, bbox_preds, gts, metas)
    want = ap_loss(rows.cls_score, rows.labels, rows.label_weights)
    torch.testing.assert_close(losses['loss_cls'], want)
    # not the mean of per-level losses (what RetinaHead's calls would give)
    assert len(cls_scores) > 1


def test_alrp_head_feeds_the_giou_loss_of_the_positives():
    head, cls_scores, bbox_preds, gts, metas = _head_and_features(
        'toy/retinanet_alrp_toy.py')
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    rows = dense_batch(head, cls_scores, bbox_preds, gts, metas)
    positive = rows.pos_inds
    boxes = head.bbox_coder.decode(rows.priors[positive],
                                   rows.bbox_pred[positive])
    targets = head.bbox_coder.decode(rows.priors[positive],
                                     rows.bbox_targets[positive])
    loc = torch.zeros(len(rows.labels))
    loc[positive] = head.loss_bbox(boxes, targets)
    cls, loc_component = alrp_loss(rows.cls_score, rows.labels, loc,
                                   rows.label_weights)
    torch.testing.assert_close(losses['loss_cls'], cls)
    weight = head.loss_cls.sb_weight
    torch.testing.assert_close(losses['loss_bbox'], weight * loc_component)
    assert positive.numel() > 0 and losses['loss_bbox'] > 0


def _rs_atss(**head):
    """RS-ATSS as the authors configure it (3 anchor scales, GIoU loss
    unreduced), on the toy backbone and FPN at 64 channels."""
    base = load(CONFIGS / 'toy/retinanet_ap-loss_toy.py').model
    model = dict(
        type='ATSS',
        data_preprocessor=base.data_preprocessor,
        backbone=base.backbone,
        neck=base.neck,
        bbox_head=dict(
            type='imbalance_plugin.RankSortATSSHead',
            num_classes=5, in_channels=64, stacked_convs=1,
            feat_channels=64,
            anchor_generator=dict(
                type='AnchorGenerator', ratios=[1.0], octave_base_scale=2,
                scales_per_octave=3, strides=[8, 16, 32, 64, 128]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                            target_means=[0.0] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            **{'loss_cls': dict(type='imbalance_plugin.RankSortLoss',
                                delta=0.5),
               'loss_bbox': dict(type='GIoULoss', reduction='none'),
               **head}),
        train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.0,
                      nms=dict(type='nms', iou_threshold=0.6),
                      max_per_img=100))
    return Config(dict(model=model)).model


def test_rs_atss_trains_balances_its_box_loss_and_predicts():
    model = _model(_rs_atss())
    assert not hasattr(model.bbox_head, 'atss_centerness')
    logs, changed = _train(model)
    for log in logs:
        assert log['loss_cls'] > 0
        # the tuning-free balance: the box loss weighs as the ranking loss
        torch.testing.assert_close(log['loss_bbox'], log['loss_cls'])
    assert changed > 0.5
    model.eval()
    with torch.no_grad():
        results = model.test_step(_batch(5))
    assert len(results) == 2 and len(results[0].pred_instances) > 0


def test_heads_refuse_losses_they_can_not_use():
    cfg = load(CONFIGS / 'toy/retinanet_alrp_toy.py').model
    focal = copy.deepcopy(cfg)
    focal.bbox_head.loss_cls = dict(type='imbalance_plugin.FocalLoss')
    with pytest.raises(ValueError, match='loss_cls'):
        _model(focal)
    reduced = copy.deepcopy(cfg)
    reduced.bbox_head.loss_bbox = dict(type='GIoULoss')
    with pytest.raises(ValueError, match='loss_bbox'):
        _model(reduced)
    with pytest.raises(ValueError, match='loss_bbox'):
        _model(_rs_atss(loss_bbox=dict(type='GIoULoss')))
    with pytest.raises(ValueError, match='loss_cls'):
        _model(_rs_atss(loss_cls=dict(type='imbalance_plugin.FocalLoss')))
