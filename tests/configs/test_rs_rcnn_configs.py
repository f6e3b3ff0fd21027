"""RS-R-CNN's configs: the COCO config is the authors' setting on mmdet's
Faster R-CNN R-50-FPN 1x; the toy twin changes no method key, trains two
iterations in process (both heads balanced, every anchor and every
proposal ranked) and through the stock tools/train.py; the ranking grids
carry it with its published number against its own source's baseline."""
import copy
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.optim import OptimWrapper

from cfg_helpers import CONFIGS, delta, load, random_batch
from imbalance_plugin.ablation.grid import load_grid
from imbalance_plugin.heads import RankSortBBoxHead, RankSortRPNHead
from imbalance_plugin.losses import RankSortLoss
from tests.train_helper import logged_train_scalars, train

RS_RCNN = 'ranking/faster-rcnn_r50_fpn_rank-sort-1x_coco.py'
RS_RCNN_TOY = 'toy/faster-rcnn_rank-sort_toy.py'
SIZE = 128
RANK_SORT = dict(type='imbalance_plugin.RankSortLoss', delta=0.5,
                 loss_weight=1.0)
GIOU = dict(type='GIoULoss', reduction='none', loss_weight=1.0)


pytestmark = pytest.mark.usefixtures('eager_single_thread')


def test_rs_rcnn_coco_config_is_the_authors_setting_on_mmdet_faster_rcnn():
    cfg = load(CONFIGS / RS_RCNN)
    model = cfg.model
    rpn, roi = model.rpn_head, model.roi_head
    assert model.type == 'FasterRCNN'
    assert model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='torchvision://resnet50')
    # the RPN: RS Loss, GIoU unreduced, the authors' head weight and stds
    assert rpn.type == 'imbalance_plugin.RankSortRPNHead'
    assert rpn.loss_cls == RANK_SORT and rpn.loss_bbox == GIOU
    assert rpn.head_weight == 0.2 and rpn.reg_decoded_bbox is True
    assert rpn.bbox_coder.target_stds == [0.1, 0.1, 0.2, 0.2]
    assert rpn.bbox_coder.target_means == [0.0] * 4
    assert model.train_cfg.rpn.sampler == dict(type='PseudoSampler')
    # the RoI head: mmdet's StandardRoIHead, the RS box head, every proposal
    assert roi.type == 'StandardRoIHead'
    assert roi.bbox_head.type == 'imbalance_plugin.RankSortBBoxHead'
    assert roi.bbox_head.loss_cls == RANK_SORT
    assert roi.bbox_head.loss_bbox == GIOU
    assert roi.bbox_head.reg_decoded_bbox is True
    assert roi.bbox_head.reg_class_agnostic is False
    sampler = model.train_cfg.rcnn.sampler
    assert sampler.type == 'RandomSampler' and sampler.num == 10**10
    assert sampler.add_gt_as_proposals is True
    assert model.test_cfg.rcnn.score_thr == 0.40
    # the authors' learning rate for 16 images; mmdet's 1x schedule
    assert cfg.optim_wrapper.optimizer.lr == 0.012
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.train_cfg.max_epochs == 12
    cfg.model.backbone.init_cfg = None  # never a download
    detector = MODELS.build(cfg.model)
    assert type(detector.rpn_head) is RankSortRPNHead
    assert type(detector.roi_head.bbox_head) is RankSortBBoxHead
    assert detector.rpn_head.cls_out_channels == 1
    assert detector.roi_head.bbox_head.fc_cls.out_features == 80
    for head in (detector.rpn_head, detector.roi_head.bbox_head):
        assert isinstance(head.loss_cls, RankSortLoss)
        assert head.loss_cls.delta == 0.5


def test_rs_rcnn_toy_config_changes_no_method_key():
    toy, coco = load(CONFIGS / RS_RCNN_TOY), load(CONFIGS / RS_RCNN)
    changed = delta(toy, coco)
    method = ('model.rpn_head.type', 'model.rpn_head.loss_cls',
              'model.rpn_head.loss_bbox', 'model.rpn_head.head_weight',
              'model.rpn_head.reg_decoded_bbox', 'model.rpn_head.bbox_coder',
              'model.roi_head.type', 'model.roi_head.bbox_head.type',
              'model.roi_head.bbox_head.loss_cls',
              'model.roi_head.bbox_head.loss_bbox',
              'model.roi_head.bbox_head.reg_decoded_bbox',
              'model.train_cfg.rpn.sampler', 'model.train_cfg.rcnn.sampler',
              'model.test_cfg.rcnn')
    assert not [k for k in changed if k.startswith(method)]
    # the toy Faster R-CNN base samples 256 RoIs: not this one
    assert toy.model.train_cfg.rcnn.sampler.num == 10**10
    assert toy.model.roi_head.bbox_head.num_classes == 5


def test_rs_rcnn_toy_trains_balanced_ranking_every_anchor_and_proposal(
        monkeypatch):
    cfg = copy.deepcopy(load(CONFIGS / RS_RCNN_TOY).model)
    cfg.backbone.init_cfg = None  # random weights: no pretraining
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.train()
    calls = dict(rpn=[], roi=[], proposals=[])
    model.rpn_head.loss_cls.register_forward_hook(
        lambda module, args, out: calls['rpn'].append(args))
    model.roi_head.bbox_head.loss_cls.register_forward_hook(
        lambda module, args, out: calls['roi'].append(args))
    roi_loss = model.roi_head.loss

    def counting_roi_loss(x, rpn_results_list, batch_data_samples):
        calls['proposals'].append([len(r) for r in rpn_results_list])
        return roi_loss(x, rpn_results_list, batch_data_samples)

    monkeypatch.setattr(model.roi_head, 'loss', counting_roi_loss)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    before = [p.detach().clone() for p in model.parameters()]
    logs = [model.train_step(random_batch(seed), optim) for seed in range(2)]
    for log in logs:
        assert torch.isfinite(log['loss'])
        assert log['loss_rpn_cls'] > 0 and log['loss_cls'] > 0
        # the tuning-free balance in both heads
        torch.testing.assert_close(log['loss_rpn_bbox'], log['loss_rpn_cls'])
        torch.testing.assert_close(log['loss_bbox'], log['loss_cls'])
    changed = sum(not torch.equal(b, p.detach())
                  for b, p in zip(before, model.parameters()))
    assert changed > 0.5 * len(before)
    # no sampling: the RPN ranks every anchor of both images, the RoI head
    # every proposal and every ground-truth box, all with weight 1
    head = model.rpn_head
    anchors = head.num_base_priors * sum(
        (SIZE // s) ** 2 for s, _ in head.prior_generator.strides)
    for args in calls['rpn']:
        assert args[0].shape == (2 * anchors, 1)
    for seed, (args, proposals) in enumerate(zip(calls['roi'],
                                                 calls['proposals'])):
        gts = [len(s.gt_instances) for s in random_batch(seed)['data_samples']]
        pred, (labels, ious), weights = args
        assert pred.shape == (sum(proposals) + sum(gts), 5)
        assert bool((weights == 1).all())
        assert int((labels < 5).sum()) >= sum(gts)  # the added boxes
        assert bool(((ious > 0) == (labels < 5)).all())
    model.eval()
    with torch.no_grad():
        results = model.test_step(random_batch(5))
    assert len(results) == 2


def test_rs_rcnn_toy_trains_through_tools_train(tmp_path):
    work = tmp_path / 'work'
    train(CONFIGS / RS_RCNN_TOY, work, max_iters=2, checkpoint_interval=2)
    rows = logged_train_scalars(work)
    assert sorted(rows) == [1, 2]
    for row in rows.values():
        assert row['loss_cls'] > 0 and math.isfinite(row['loss'])
        assert row['loss_bbox'] == pytest.approx(row['loss_cls'], rel=1e-3)
        assert row['loss_rpn_bbox'] == pytest.approx(row['loss_rpn_cls'],
                                                     rel=1e-3)
    assert (work / 'iter_2.pth').is_file()


def test_ranking_grids_carry_rs_rcnn_with_its_published_number():
    grid, toy = load_grid('ranking-losses'), load_grid('ranking-losses-toy')
    rows, toys = ({v.name: v for v in g.variants} for g in (grid, toy))
    assert rows['rs-rcnn'].config == CONFIGS / RS_RCNN
    assert toys['rs-rcnn'].config == CONFIGS / RS_RCNN_TOY
    assert rows['rs-rcnn'].published.metrics == dict(AP=39.6)
    # against mmdet's Faster R-CNN (37.4), not the grid's Focal Loss
    assert grid.published_delta(rows['rs-rcnn']) == pytest.approx(2.2)
    cite = grid.sources['rs_rcnn'].cite
    assert 'RankSortLoss README' in cite
    assert 'faster_rcnn/metafile.yml' in cite
