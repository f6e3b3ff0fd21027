"""The drop-in matrix: the plugin's losses in mmdet 3.3.0's own detectors.

Each cell takes a stock config from mmdet's wheel (``mmdet/.mim/configs``),
puts one plugin component into one loss slot of it (with the setting the
head needs, if any), builds the detector without pretrained weights, runs
``model.loss`` and backward on two random 128 x 128 images with a few boxes,
and checks that the plugin's module is the one the head called and that the
losses and every gradient are finite. docs/dropin.md shows the same matrix,
with the reasons of the cells that do not apply.

To stay fast the ResNet-50 detectors get a ResNet-18 of base width 16 and
32-channel necks and heads (64-unit RoI FCs); YOLOX-tiny and RTMDet-tiny keep
their stock sizes. ``SyncBN`` becomes ``BN`` (one CPU process). Losses run
eagerly (their compiled kernels are tested with the losses).
"""
import copy
from pathlib import Path
from typing import NamedTuple, Optional

import mmdet
import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData

from imbalance_plugin.losses import GHMC, GHMR, FocalLoss, QualityFocalLoss

MMDET_CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs'
SIZE = 128
WIDTH = 32

COMPONENTS = {
    'Focal': (FocalLoss, dict(type='imbalance_plugin.FocalLoss',
                              use_sigmoid=True, gamma=2.0, alpha=0.25,
                              loss_weight=1.0)),
    'GHM-C': (GHMC, dict(type='imbalance_plugin.GHMC', bins=30,
                         momentum=0.75, use_sigmoid=True, loss_weight=1.0)),
    'softmax Focal': (FocalLoss, dict(type='imbalance_plugin.FocalLoss',
                                      use_sigmoid=False, gamma=2.0,
                                      alpha=0.25, loss_weight=1.0)),
    'softmax GHM-C': (GHMC, dict(type='imbalance_plugin.GHMC', bins=30,
                                 momentum=0.75, use_sigmoid=False,
                                 loss_weight=1.0)),
    'GHM-R': (GHMR, dict(type='imbalance_plugin.GHMR', mu=0.02, bins=10,
                         momentum=0.7, loss_weight=1.0)),
    'QFL': (QualityFocalLoss, dict(type='imbalance_plugin.QualityFocalLoss',
                                   use_sigmoid=True, beta=2.0,
                                   loss_weight=1.0)),
}

CONFIGS = {
    'RetinaNet': 'retinanet/retinanet_r18_fpn_1x_coco.py',
    'FCOS': 'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'ATSS': 'atss/atss_r50_fpn_1x_coco.py',
    'FSAF': 'fsaf/fsaf_r50_fpn_1x_coco.py',
    'RPN': 'rpn/rpn_r50_fpn_1x_coco.py',
    'GFL': 'gfl/gfl_r50_fpn_1x_coco.py',
    'TOOD': 'tood/tood_r50_fpn_1x_coco.py',
    'RTMDet': 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    'YOLOX': 'yolox/yolox_tiny_8xb8-300e_coco.py',
    'SSD': 'ssd/ssd300_coco.py',
    'Faster R-CNN': 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'Cascade R-CNN': 'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    'Mask R-CNN': 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}


class Cell(NamedTuple):
    detector: str
    slot: str  # dotted path in the config (and in the model, but see below)
    component: str
    setting: Optional[dict] = None  # merged into the component's config
    epoch: Optional[int] = None  # training epoch the head is told
    head_attrs: Optional[dict] = None  # attributes set on the built head


# The RPN detector builds its config's rpn_head as its bbox_head.
MODEL_PATHS = {'RPN': ('rpn_head', 'bbox_head')}

CELLS = [
    Cell('RetinaNet', 'bbox_head.loss_cls', 'Focal'),
    Cell('RetinaNet', 'bbox_head.loss_cls', 'GHM-C'),
    Cell('RetinaNet', 'bbox_head.loss_bbox', 'GHM-R'),
    Cell('FCOS', 'bbox_head.loss_cls', 'Focal'),
    Cell('FCOS', 'bbox_head.loss_cls', 'GHM-C'),
    Cell('ATSS', 'bbox_head.loss_cls', 'Focal'),
    Cell('ATSS', 'bbox_head.loss_cls', 'GHM-C'),
    Cell('FSAF', 'bbox_head.loss_cls', 'Focal', dict(reduction='none')),
    Cell('FSAF', 'bbox_head.loss_cls', 'GHM-C', dict(reduction='none')),
    Cell('RPN', 'rpn_head.loss_cls', 'Focal'),
    Cell('RPN', 'rpn_head.loss_cls', 'GHM-C'),
    Cell('RPN', 'rpn_head.loss_bbox', 'GHM-R'),
    Cell('GFL', 'bbox_head.loss_cls', 'QFL'),
    Cell('TOOD', 'bbox_head.initial_loss_cls', 'Focal', epoch=0),
    Cell('TOOD', 'bbox_head.initial_loss_cls', 'GHM-C', epoch=0),
    Cell('TOOD', 'bbox_head.loss_cls', 'QFL', epoch=4),
    Cell('RTMDet', 'bbox_head.loss_cls', 'QFL'),
    Cell('YOLOX', 'bbox_head.loss_cls', 'Focal', dict(reduction='sum')),
    Cell('YOLOX', 'bbox_head.loss_cls', 'GHM-C', dict(reduction='sum')),
    Cell('YOLOX', 'bbox_head.loss_cls', 'QFL', dict(reduction='sum')),
    Cell('YOLOX', 'bbox_head.loss_obj', 'Focal', dict(reduction='sum')),
    Cell('YOLOX', 'bbox_head.loss_l1', 'GHM-R', dict(reduction='sum'),
         head_attrs=dict(use_l1=True)),
    Cell('Faster R-CNN', 'rpn_head.loss_cls', 'Focal'),
    Cell('Faster R-CNN', 'rpn_head.loss_cls', 'GHM-C'),
    Cell('Faster R-CNN', 'rpn_head.loss_bbox', 'GHM-R'),
    Cell('Faster R-CNN', 'roi_head.bbox_head.loss_cls', 'softmax Focal'),
    Cell('Faster R-CNN', 'roi_head.bbox_head.loss_cls', 'softmax GHM-C'),
    Cell('Faster R-CNN', 'roi_head.bbox_head.loss_bbox', 'GHM-R'),
    Cell('Cascade R-CNN', 'roi_head.bbox_head.*.loss_cls', 'softmax Focal'),
    Cell('Cascade R-CNN', 'roi_head.bbox_head.*.loss_cls', 'softmax GHM-C'),
    Cell('Cascade R-CNN', 'roi_head.bbox_head.*.loss_bbox', 'GHM-R'),
    Cell('Mask R-CNN', 'roi_head.bbox_head.loss_cls', 'softmax Focal'),
    Cell('Mask R-CNN', 'roi_head.bbox_head.loss_cls', 'softmax GHM-C'),
    Cell('Mask R-CNN', 'roi_head.bbox_head.loss_bbox', 'GHM-R'),
]


def _cell_id(cell):
    extra = ''.join(f',{k}={v}' for k, v in (cell.setting or {}).items())
    return f'{cell.detector}:{cell.slot}:{cell.component}{extra}'


def _walk(obj, path):
    """The objects at a dotted path of a config or model; '*' fans out over
    a list (a ModuleList in the model)."""
    found = [obj]
    for key in path.split('.'):
        step = []
        for item in found:
            if key == '*':
                step.extend(item)
            elif isinstance(item, dict):
                step.append(item[key])
            else:
                step.append(getattr(item, key))
        found = step
    return found


def _load(detector):
    return Config.fromfile(str(MMDET_CONFIGS / CONFIGS[detector]))


def _rewrite(obj):
    """32-channel necks and heads, 64-unit RoI FCs, BN for SyncBN, no
    pretrained weights."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ('in_channels', 'out_channels', 'feat_channels',
                       'conv_out_channels') and value == 256:
                obj[key] = WIDTH
            elif key == 'fc_out_channels' and value == 1024:
                obj[key] = 2 * WIDTH
            elif (key == 'norm_cfg' and isinstance(value, dict)
                  and value.get('type') == 'SyncBN'):
                obj[key] = dict(value, type='BN')
            elif (key == 'init_cfg' and isinstance(value, dict)
                  and value.get('type') == 'Pretrained'):
                obj[key] = None
            else:
                _rewrite(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _rewrite(value)


def _small(model_cfg):
    """The detector without pretrained weights, ResNet ones shrunk."""
    model = copy.deepcopy(model_cfg)
    if model.backbone.type == 'ResNet':
        model.backbone = dict(type='ResNet', depth=18, base_channels=16,
                              num_stages=4, out_indices=(0, 1, 2, 3),
                              norm_cfg=dict(type='BN', requires_grad=True),
                              style='pytorch', init_cfg=None)
        model.neck.in_channels = [16, 32, 64, 128]
    _rewrite(model)
    return model


def _batch(with_masks):
    """Two random images with three and four boxes of assorted sizes."""
    gen = torch.Generator().manual_seed(0)
    boxes = torch.tensor([[8., 10., 60., 70.], [50., 40., 120., 110.],
                          [70., 10., 94., 36.], [20., 80., 52., 124.]])
    inputs = torch.randn(2, 3, SIZE, SIZE, generator=gen)
    samples = []
    for i, n in enumerate((3, 4)):
        sample = DetDataSample(metainfo=dict(
            img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
            pad_shape=(SIZE, SIZE), batch_input_shape=(SIZE, SIZE),
            scale_factor=(1.0, 1.0)))
        gt = InstanceData(bboxes=boxes[:n] + 2.0 * i,
                          labels=torch.randint(0, 80, (n,), generator=gen))
        if with_masks:
            masks = np.zeros((n, SIZE, SIZE), dtype=np.uint8)
            for k, (x1, y1, x2, y2) in enumerate(gt.bboxes.long().tolist()):
                masks[k, y1:y2, x1:x2] = 1
            gt.masks = BitmapMasks(masks, SIZE, SIZE)
        sample.gt_instances = gt
        samples.append(sample)
    return inputs, samples


pytestmark = pytest.mark.usefixtures('eager_single_thread')


@pytest.fixture
def epoch():
    hub = MessageHub.get_current_instance()
    before = hub.get_info('epoch')

    def set_epoch(value):
        hub.update_info('epoch', value)

    yield set_epoch
    hub.update_info('epoch', before)


@pytest.mark.parametrize('cell', CELLS, ids=_cell_id)
def test_plugin_component_trains_in_stock_detector(cell, epoch):
    plugin_class, component_cfg = COMPONENTS[cell.component]
    cfg = _load(cell.detector)
    for slot in _walk(cfg.model, cell.slot.rsplit('.', 1)[0]):
        name = cell.slot.rsplit('.', 1)[1]
        assert name in slot, f'{cell.detector} has no {cell.slot}'
        slot[name] = dict(component_cfg, **(cell.setting or {}))
    model_cfg = _small(cfg.model)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    model_slot = cell.slot
    if cell.detector in MODEL_PATHS:
        model_slot = model_slot.replace(*MODEL_PATHS[cell.detector], 1)
    head = _walk(model, model_slot.split('.', 1)[0])[0]
    for key, value in (cell.head_attrs or {}).items():
        setattr(head, key, value)
    if cell.epoch is not None:
        epoch(cell.epoch)

    modules = _walk(model, model_slot)
    calls = []
    for module in modules:
        assert isinstance(module, plugin_class), type(module)
        module.register_forward_hook(
            lambda *_: calls.append(None))

    inputs, samples = _batch(with_masks=cell.detector == 'Mask R-CNN')
    losses = model.loss(inputs, samples)
    assert len(calls) >= len(modules), 'the plugin loss was not called'
    total = 0
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        for term in (value if isinstance(value, list) else [value]):
            assert torch.isfinite(term).all(), (key, term)
            total = total + term.sum()
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads, 'no gradient reached the model'
    for grad in grads:
        assert torch.isfinite(grad).all()
    assert any(bool(grad.abs().sum() > 0) for grad in grads)


def test_ssd_head_has_no_loss_slot():
    """SSD is 'n/a' for every component: its head computes cross-entropy
    with hard negative mining and smooth L1 inline, with no loss modules."""
    head_cfg = _load('SSD').model.bbox_head
    assert not any(key.startswith('loss') for key in head_cfg)
    head = MODELS.build(head_cfg)
    assert not any(isinstance(m, (FocalLoss, GHMC, GHMR)) or
                   name.startswith('loss')
                   for name, m in head.named_modules() if name)


def test_every_listed_detector_has_cells_or_a_reason():
    with_cells = {cell.detector for cell in CELLS}
    assert set(CONFIGS) - with_cells == {'SSD'}
    for detector in CONFIGS:
        assert (MMDET_CONFIGS / CONFIGS[detector]).is_file(), detector
