"""Helpers shared by the config tests: loading, flattening, type walking."""
import copy
import functools
from pathlib import Path

from mmengine.config import Config, ConfigDict

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'
# mmdet's own implementations of the methods: the plugin replaces each.
METHOD_TYPES = ('FocalLoss', 'GHMC', 'GHMR', 'QualityFocalLoss',
                'PISARetinaHead', 'PISARoIHead', 'PISASSDHead',
                'ScoreHLRSampler')
PLUGIN = 'imbalance_plugin.'
MISSING = '<missing>'


def all_configs():
    """Every runnable config under configs/ (the _base_ parts excluded)."""
    return sorted(p for p in CONFIGS.rglob('*.py')
                  if '_base_' not in p.relative_to(CONFIGS).parts)


def coco_configs():
    return sorted(CONFIGS.glob('*/*_coco.py'))


@functools.lru_cache(maxsize=None)
def _load(path: str) -> Config:
    return Config.fromfile(path)


def load(path) -> Config:
    """The resolved config (parsed once per test session; a fresh copy)."""
    return copy.deepcopy(_load(str(Path(path).resolve())))


def plain(obj):
    """Nested dicts/lists of a config, without MMEngine's ``_scope_`` tags."""
    if isinstance(obj, (dict, ConfigDict)):
        return {k: plain(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    return obj


def flatten(obj, prefix=''):
    """``{'a': {'b': 1}, 'c': [2]}`` -> ``{'a.b': 1, 'c.0': 2}``."""
    flat = {}
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return {prefix[:-1]: obj}
    for key, value in items:
        if isinstance(value, (dict, list, tuple)) and value:
            flat.update(flatten(value, f'{prefix}{key}.'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat


def delta(cfg, base):
    """Flat keys whose value differs between two configs: key -> value in
    ``cfg`` (MISSING where ``cfg`` lacks it)."""
    a, b = flatten(plain(cfg.to_dict())), flatten(plain(base.to_dict()))
    return {k: a.get(k, MISSING) for k in a.keys() | b.keys()
            if a.get(k, MISSING) != b.get(k, MISSING)}


def types(obj):
    """Every ``type`` value in a nested config."""
    found = []
    if isinstance(obj, (dict, ConfigDict)):
        if isinstance(obj.get('type'), str):
            found.append(obj['type'])
        for value in obj.values():
            found += types(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            found += types(value)
    return found


def random_batch(seed=0, classes=5, size=128):
    """A data batch of two random ``size`` x ``size`` images with three and
    four random boxes of ``classes`` classes, as a dataloader gives it to
    ``train_step``."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(2):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=gen,
                                    dtype=torch.uint8))
        corner = torch.rand(3 + i, 2, generator=gen) * 80
        extent = 12 + torch.rand(3 + i, 2, generator=gen) * 36
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size),
            scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat((corner, corner + extent), 1),
            labels=torch.randint(0, classes, (3 + i,), generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def tiny_backbone():
    """ResNet-18 of width 8 and no pretraining."""
    return dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                out_indices=(0, 1, 2, 3),
                norm_cfg=dict(type='BN', requires_grad=True),
                style='pytorch', init_cfg=None)


def tiny_mask_rcnn(model_cfg):
    """A COCO Mask R-CNN model config at a few channels: ResNet-18 of width
    8, FPN and heads of 16 channels, every other key as it is."""
    model = copy.deepcopy(model_cfg)
    model.backbone = tiny_backbone()
    model.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    model.rpn_head.update(in_channels=16, feat_channels=16)
    roi = model.roi_head
    roi.bbox_roi_extractor.out_channels = 16
    roi.bbox_head.update(in_channels=16, fc_out_channels=32)
    roi.mask_roi_extractor.out_channels = 16
    roi.mask_head.update(in_channels=16, conv_out_channels=16)
    return model
