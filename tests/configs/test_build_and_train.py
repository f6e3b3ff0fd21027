"""Every config in configs/ loads, its model builds, and one training
iteration runs on two small synthetic images (COCO configs with their
backbone, neck and heads shrunk; toy configs as they are). The two COCO
baselines also build at full size (the method configs differ from them only
in method keys, see test_reference_equivalence.py). No downloads and no
pretraining: init_weights is never called. The losses run eagerly
here (their compiled kernels are tested with the losses), on one thread (the
inputs are too small to gain from more)."""
import copy
import inspect

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData

from cfg_helpers import CONFIGS, all_configs, coco_configs, load

SIZE = 128
BOXES = [[8., 10., 60., 70.], [50., 40., 120., 110.], [70., 10., 94., 36.]]
LABELS = [0, 3, 1]


WIDTH = 16


def _head_width(head):
    """WIDTH, rounded up to a multiple of the GroupNorm groups of the dense
    head's towers where it has them (its ``norm_cfg``, else its class's
    default: ATSS's GroupNorm(32) gives 32)."""
    norm = head.get('norm_cfg')
    if norm is None:  # the default of the first class that declares it
        params = (inspect.signature(cls.__init__).parameters
                  for cls in MODELS.get(head['type']).__mro__)
        norm = next((p['norm_cfg'].default for p in params
                     if 'norm_cfg' in p), None)
    groups = norm.get('num_groups', 1) if norm and norm['type'] == 'GN' \
        else 1
    return -(-WIDTH // groups) * groups


def _tiny(model_cfg):
    """The COCO detector at a few channels: ResNet-18 of width 8, FPN and
    heads of 16 channels (a dense head's towers at a multiple of their
    GroupNorm groups, see _head_width)."""
    model = copy.deepcopy(model_cfg)
    model.backbone = dict(type='ResNet', depth=18, base_channels=8,
                          num_stages=4, out_indices=(0, 1, 2, 3),
                          norm_cfg=dict(type='BN', requires_grad=True),
                          style='pytorch', init_cfg=None)
    model.neck.in_channels = [8, 16, 32, 64]
    model.neck.out_channels = 16
    if 'bbox_head' in model:
        model.bbox_head.update(in_channels=16,
                               feat_channels=_head_width(model.bbox_head),
                               stacked_convs=1)
    else:
        model.rpn_head.update(in_channels=16, feat_channels=16)
        model.roi_head.bbox_roi_extractor.out_channels = 16
        model.roi_head.bbox_head.update(in_channels=16, fc_out_channels=32)
    return model


def _batch():
    torch.manual_seed(0)
    inputs, samples = [], []
    for i in range(2):
        inputs.append(torch.randint(0, 256, (3, SIZE, SIZE),
                                    dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(
            img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
            scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(BOXES[:2 + i]),
            labels=torch.tensor(LABELS[:2 + i]))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


pytestmark = pytest.mark.usefixtures('eager_single_thread')


def test_coco_configs_init_from_pretrained_backbone():
    for path in coco_configs():
        backbone = load(path).model.backbone
        checkpoint = ('open-mmlab://vgg16_caffe' if backbone.type == 'SSDVGG'
                      else f'torchvision://resnet{backbone.depth}')
        assert backbone.init_cfg == dict(type='Pretrained',
                                         checkpoint=checkpoint), path


@pytest.mark.parametrize('name', [
    'retinanet/retinanet_r50_fpn_focal-1x_coco.py',
    'faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'])
def test_coco_baseline_builds_at_full_size(name):
    cfg = load(CONFIGS / name)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert model.backbone.depth == 50
    assert sum(p.numel() for p in model.parameters()) > 30e6


# The SSD and Mask R-CNN COCO configs (VGG and SSD's neck; masks) are
# shrunk and trained a step in test_ssd_mask_configs.py, RS-Mask R-CNN in
# tests/heads/test_rank_sort_mask.py.
@pytest.mark.parametrize(
    'path', [p for p in all_configs()
             if not (p.name.endswith('_coco.py')
                     and (p.parent.name in ('ssd', 'mask_rcnn')
                          or p.name.startswith('mask-rcnn_')))],
    ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_builds_and_trains_one_iteration(path):
    model_cfg = load(path).model
    if path.name.endswith('_coco.py'):
        model_cfg = _tiny(model_cfg)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    before = [p.detach().clone() for p in model.parameters()]
    log_vars = model.train_step(_batch(), optim)
    assert torch.isfinite(log_vars['loss'])
    assert any(k.startswith('loss_cls') or k.endswith('loss_cls')
               for k in log_vars)
    changed = sum(not torch.equal(b, p.detach())
                  for b, p in zip(before, model.parameters()))
    assert changed > 0.5 * len(before)


@pytest.mark.parametrize('head, width', [
    (dict(type='RetinaHead'), 16),
    (dict(type='imbalance_plugin.RankSortATSSHead'), 32),
    (dict(type='ATSSHead', norm_cfg=dict(type='GN', num_groups=8)), 16),
    (dict(type='ATSSHead', norm_cfg=dict(type='GN', num_groups=24)), 24),
    (dict(type='ATSSHead', norm_cfg=dict(type='BN')), 16)])
def test_tiny_head_width_fits_the_group_norm(head, width):
    assert _head_width(head) == width
