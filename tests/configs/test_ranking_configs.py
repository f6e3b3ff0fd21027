"""The ranking-loss detectors: the toy configs (AP Loss and aLRP Loss in
RetinaNet, RS-ATSS) build and train two iterations, in process and through
the stock tools/train.py; the heads rank the whole batch in one loss call;
RS-ATSS trains, balances its box loss to the ranking loss and predicts
without centerness, its COCO config is the authors' setting on mmdet's
ATSS; the heads refuse losses they can not use; the ranking grids carry
the new detector with its published number."""
import copy
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import OptimWrapper

import imbalance_plugin.heads  # noqa: F401  (registers the heads)
from cfg_helpers import CONFIGS, delta, load, random_batch
from imbalance_plugin.ablation.grid import load_grid
from imbalance_plugin.functional.alrp import alrp_loss
from imbalance_plugin.functional.ap_loss import ap_loss
from imbalance_plugin.heads.rank_sort_atss_head import RankSortATSSHead
from imbalance_plugin.losses import RankSortLoss
from imbalance_plugin.structures.sample_batch import dense_batch
from tests.train_helper import logged_train_scalars, train

TOY_CONFIGS = ['toy/retinanet_ap-loss_toy.py', 'toy/retinanet_alrp_toy.py',
               'toy/atss_rank-sort_toy.py']
RS_ATSS = 'ranking/atss_r50_fpn_rank-sort-1x_coco.py'
RS_ATSS_TOY = 'toy/atss_rank-sort_toy.py'


pytestmark = pytest.mark.usefixtures('eager_single_thread')


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
    logs = [model.train_step(random_batch(seed), optim)
            for seed in range(steps)]
    changed = sum(not torch.equal(b, p.detach())
                  for b, p in zip(before, model.parameters()))
    return logs, changed / len(before)


COCO_CONFIGS = ['ranking/retinanet_r50_fpn_ap-loss-1x_coco.py',
                'ranking/retinanet_r50_fpn_alrp-1x_coco.py', RS_ATSS]


@pytest.mark.parametrize('name', COCO_CONFIGS + TOY_CONFIGS)
def test_ranking_heads_have_one_logit_per_class(name):
    """mmdet sizes the classifier from loss_cls.use_sigmoid (default False:
    C + 1 outputs, and every anchor a positive of the ranking); the configs
    leave it out, the heads default it to True."""
    cfg = load(CONFIGS / name).model
    assert 'use_sigmoid' not in cfg.bbox_head.loss_cls
    head = MODELS.build(cfg.bbox_head)
    assert head.cls_out_channels == head.num_classes
    cfg.bbox_head.loss_cls.use_sigmoid = False
    with pytest.raises(ValueError, match='use_sigmoid must be True'):
        MODELS.build(cfg.bbox_head)


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
    if name == RS_ATSS_TOY:
        for log in logs:  # the tuning-free task balance
            torch.testing.assert_close(log['loss_bbox'], log['loss_cls'])
    model.eval()
    with torch.no_grad():
        results = model.test_step(random_batch(5))
    assert len(results) == 2


def _head_and_features(name):
    model = _model(load(CONFIGS / name).model)
    batch = model.data_preprocessor(random_batch(3), True)
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
    # the background (label C) is no positive: far fewer positives than rows
    positives = (rows.labels < head.num_classes).sum().item()
    assert 0 < positives < rows.labels.numel() // 10
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
        results = model.test_step(random_batch(5))
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


def test_rs_atss_coco_config_is_the_authors_setting_on_mmdet_atss():
    cfg = load(CONFIGS / RS_ATSS)
    head = cfg.model.bbox_head
    assert cfg.model.type == 'ATSS'
    assert head.type == 'imbalance_plugin.RankSortATSSHead'
    assert head.loss_cls == dict(type='imbalance_plugin.RankSortLoss',
                                 delta=0.5, loss_weight=1.0)
    assert head.loss_bbox == dict(type='GIoULoss', reduction='none',
                                  loss_weight=1.0)
    assert (head.anchor_generator.octave_base_scale,
            head.anchor_generator.scales_per_octave) == (4, 3)
    assert cfg.optim_wrapper.optimizer.lr == 0.008
    assert cfg.train_cfg.max_epochs == 12
    assert (head.num_classes, head.feat_channels, head.stacked_convs) == (
        80, 256, 4)
    cfg.model.backbone.init_cfg = None  # never a download
    model = MODELS.build(cfg.model)
    assert type(model.bbox_head) is RankSortATSSHead
    assert isinstance(model.bbox_head.loss_cls, RankSortLoss)
    assert model.bbox_head.loss_cls.delta == 0.5
    assert not hasattr(model.bbox_head, 'atss_centerness')
    assert model.bbox_head.num_base_priors == 3


def test_rs_atss_toy_config_changes_no_method_key():
    toy, coco = load(CONFIGS / RS_ATSS_TOY), load(CONFIGS / RS_ATSS)
    changed = delta(toy, coco)
    method = ('model.bbox_head.type', 'model.bbox_head.loss_cls',
              'model.bbox_head.loss_bbox',
              'model.bbox_head.anchor_generator.scales_per_octave')
    assert not any(k.startswith(method) for k in changed)
    head = toy.model.bbox_head
    assert head.feat_channels % 32 == 0  # ATSS's GroupNorm(32) towers
    assert head.anchor_generator.octave_base_scale == 2  # halved for 256 px


@pytest.mark.parametrize('name', [RS_ATSS_TOY])
def test_new_toy_config_trains_through_tools_train(name, tmp_path):
    work = tmp_path / 'work'
    train(CONFIGS / name, work, max_iters=2, checkpoint_interval=2)
    rows = logged_train_scalars(work)
    assert sorted(rows) == [1, 2]
    for row in rows.values():
        assert row['loss_cls'] > 0 and math.isfinite(row['loss'])
        # the tuning-free balance: the box loss weighs as the ranking loss
        assert row['loss_bbox'] == pytest.approx(row['loss_cls'], rel=1e-3)
    assert (work / 'iter_2.pth').is_file()


def test_ranking_grids_carry_rs_atss_with_its_published_number():
    grid, toy = load_grid('ranking-losses'), load_grid('ranking-losses-toy')
    # the existing rows, keyed by their names, unchanged; the toy mirrors
    assert [v.name for v in grid.variants] == [
        'focal', 'ap-loss', 'alrp', 'rs-atss', 'rs-rcnn', 'rs-mask-rcnn']
    # the toy dataset has no masks: no RS-Mask R-CNN twin
    assert [v.name for v in toy.variants] == [
        v.name for v in grid.variants if v.name != 'rs-mask-rcnn']
    rows, toys = ({v.name: v for v in g.variants} for g in (grid, toy))
    assert rows['rs-atss'].config == CONFIGS / RS_ATSS
    assert toys['rs-atss'].config == CONFIGS / RS_ATSS_TOY
    assert rows['rs-atss'].published.metrics == dict(AP=39.9)
    # against mmdet's ATSS (39.4), not the grid's Focal Loss RetinaNet
    assert grid.published_delta(rows['rs-atss']) == pytest.approx(0.5)
    assert 'RankSortLoss README' in grid.sources['rs_atss'].cite
    assert 'atss/metafile.yml' in grid.sources['rs_atss'].cite
    assert grid.published_delta(rows['alrp']) is None
    assert not toy.has_published


def test_ranking_grid_carries_rs_mask_rcnn_against_mmdet_mask_rcnn():
    grid = load_grid('ranking-losses')
    row = {v.name: v for v in grid.variants}['rs-mask-rcnn']
    assert row.config == (CONFIGS / 'ranking'
                          / 'mask-rcnn_r50_fpn_rank-sort-1x_coco.py')
    assert row.published.metrics == dict(AP=40.0)
    # against mmdet's Mask R-CNN R-50-FPN 1x box AP (38.2)
    assert grid.published_delta(row) == pytest.approx(1.8)
    cite = grid.sources['rs_mask'].cite
    assert 'RankSortLoss README' in cite and 'mask AP 36.4' in cite
    assert 'mask_rcnn/metafile.yml' in cite and 'mask AP 34.7' in cite
