"""One-stage OHEM (OHEMRetinaHead) against the Focal Loss, side by side.

Each row is one training iteration (forward, losses, backward) of the toy
RetinaNet (configs/toy: ResNet-18 at a quarter width, FPN and head at 64
channels, 5 classes, 12,276 anchors per 256 px image) on 2 images with 5
objects each: ours with ``imbalance_plugin.OHEMRetinaHead`` and the
``train_cfg.ohem`` of the row, plain the same detector with the Focal Loss
(configs/toy/retinanet_focal_toy.py), both from the same weights. mmdet has
no one-stage OHEM, so there is no reference column.

* ``nms .5``: the COCO config's default, 128 anchors per image at NMS 0.5
  (the NMS pool is 1,024 anchors per image, POOL_PER_SELECTED x 128).
* ``1:3 nms .5``: the same at the paper's 1 : 3 positive : negative ratio.
* ``top-k``: 128 per image without NMS (plain top-k loss mining).
"""
import copy
from pathlib import Path

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData

from benchmarks import Case

REPO = Path(__file__).resolve().parents[2]
SIZE, NUM_IMGS, NUM_GTS = 256, 2, 5


def _detector(config, device, ohem=None):
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(REPO / 'configs' / 'toy' / config))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.data_preprocessor = None
    model_cfg.backbone.init_cfg = None
    if ohem is not None:
        model_cfg.train_cfg.ohem = ohem
    torch.manual_seed(0)
    return MODELS.build(model_cfg).to(device).train()


def _batch(device):
    g = torch.Generator().manual_seed(0)
    inputs = torch.randn(NUM_IMGS, 3, SIZE, SIZE, generator=g).to(device)
    samples = []
    for _ in range(NUM_IMGS):
        xy = torch.rand(NUM_GTS, 2, generator=g) * (SIZE - 60)
        wh = 12 + torch.rand(NUM_GTS, 2, generator=g) * 40
        sample = DetDataSample(metainfo=dict(
            img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE),
            batch_input_shape=(SIZE, SIZE), scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1).to(device),
            labels=torch.randint(5, (NUM_GTS, ), generator=g).to(device))
        samples.append(sample)
    return inputs, samples


def _step(model, inputs, samples):
    model.zero_grad()
    total, log_vars = model.parse_losses(
        model.loss(inputs, copy.deepcopy(samples)))
    total.backward()
    return log_vars


ROWS = [
    ('nms .5', dict(num=128, nms_thr=0.5, neg_pos_ratio=None)),
    ('1:3 nms .5', dict(num=128, nms_thr=0.5, neg_pos_ratio=3)),
    ('top-k', dict(num=128, nms_thr=None, neg_pos_ratio=None)),
]


def cases(device):
    inputs, samples = _batch(device)
    focal = _detector('retinanet_focal_toy.py', device)
    out = []
    for label, ohem in ROWS:
        model = _detector('retinanet_ohem_toy.py', device, ohem)
        model.load_state_dict(focal.state_dict())
        out.append(Case(
            name=f'OHEM RetinaNet ({label})',
            setting=f'toy, 2 img x 12k anchors, {ohem["num"]} per img',
            ours=lambda model=model: _step(model, inputs, samples),
            plain=lambda: _step(focal, inputs, samples),
            plain_name='Focal Loss',
            targets={'max_vs_plain': 1.3}))
    return out
