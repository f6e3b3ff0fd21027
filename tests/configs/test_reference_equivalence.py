"""The COCO method configs against mmdet 3.3.0's own configs, key by key,
and against their baseline: only the method keys differ."""
import inspect
from pathlib import Path

import mmdet
import pytest

from cfg_helpers import (
    CONFIGS,
    METHOD_TYPES,
    PLUGIN,
    all_configs,
    coco_configs,
    delta,
    flatten,
    load,
    plain,
    types,
)

MMDET_CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs'

PAIRS = [
    ('retinanet/retinanet_r50_fpn_focal-1x_coco.py',
     'retinanet/retinanet_r50_fpn_1x_coco.py'),
    ('retinanet/retinanet_r50_fpn_ghm-1x_coco.py',
     'ghm/retinanet_r50_fpn_ghm-1x_coco.py'),
    ('retinanet/retinanet_r50_fpn_pisa-1x_coco.py',
     'pisa/retinanet-r50_fpn_pisa_1x_coco.py'),
    ('faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py',
     'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
    ('faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py',
     'pisa/faster-rcnn_r50_fpn_pisa_1x_coco.py'),
]


def _to_plugin(obj):
    """mmdet's config with its method components renamed to the plugin's and
    the sampler arguments it leaves to defaults written out."""
    if isinstance(obj, dict):
        obj = {k: _to_plugin(v) for k, v in obj.items()}
        if obj.get('type') == 'ScoreHLRSampler':
            from mmdet.models.task_modules import ScoreHLRSampler
            for name, p in inspect.signature(
                    ScoreHLRSampler.__init__).parameters.items():
                if p.default is not p.empty and name not in ('context',):
                    obj.setdefault(name, p.default)
        if obj.get('type') in METHOD_TYPES:
            obj['type'] = PLUGIN + obj['type']
        return obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_plugin(v) for v in obj)
    return obj


@pytest.mark.parametrize('ours, theirs', PAIRS, ids=[p[0] for p in PAIRS])
def test_same_configuration_as_mmdet(ours, theirs):
    mine = flatten(plain(load(CONFIGS / ours).to_dict()))
    reference = flatten(_to_plugin(plain(
        load(MMDET_CONFIGS / theirs).to_dict())))
    assert mine == reference


RETINANET_METHOD_KEYS = ('model.bbox_head.type', 'model.bbox_head.loss_cls',
                         'model.bbox_head.loss_bbox', 'model.train_cfg.isr',
                         'model.train_cfg.carl', 'optim_wrapper.clip_grad')
FASTER_RCNN_METHOD_KEYS = (
    'model.roi_head.type', 'model.roi_head.bbox_head.loss_cls',
    'model.roi_head.bbox_head.loss_bbox', 'model.train_cfg.rcnn.sampler',
    'model.train_cfg.rcnn.isr', 'model.train_cfg.rcnn.carl',
    # PISA's setting of mmdet's config: 2000 proposals
    'model.train_cfg.rpn_proposal', 'model.test_cfg.rpn')
# RS-ATSS: the head, its losses, the authors' anchors (3 scales per octave
# from a base of 4) and learning rate (0.008).
ATSS_METHOD_KEYS = ('model.bbox_head.type', 'model.bbox_head.loss_cls',
                    'model.bbox_head.loss_bbox',
                    'model.bbox_head.anchor_generator.octave_base_scale',
                    'model.bbox_head.anchor_generator.scales_per_octave',
                    'optim_wrapper.optimizer.lr')
# RS-R-CNN: the RPN's and the RoI box head's types and losses, the RPN's
# head weight, decoded targets and delta stds, no sampling (a PseudoSampler
# in the RPN, every proposal in the RoI head), the test score threshold and
# the authors' learning rate (0.012).
RS_RCNN_METHOD_KEYS = (
    'model.rpn_head.type', 'model.rpn_head.loss_cls',
    'model.rpn_head.loss_bbox', 'model.rpn_head.head_weight',
    'model.rpn_head.reg_decoded_bbox', 'model.rpn_head.bbox_coder.target_stds',
    'model.roi_head.bbox_head.type', 'model.roi_head.bbox_head.loss_cls',
    'model.roi_head.bbox_head.loss_bbox',
    'model.roi_head.bbox_head.reg_decoded_bbox', 'model.train_cfg.rpn.sampler',
    'model.train_cfg.rcnn.sampler.num', 'model.test_cfg.rcnn.score_thr',
    'optim_wrapper.optimizer.lr')
# The Focal Loss paper's training setting: its ablations train and test at
# 600 px (the pipelines), Table 1d with R-101 (the backbone).
SCALE_600_KEYS = ('train_pipeline', 'test_pipeline',
                  'train_dataloader.dataset.pipeline',
                  'val_dataloader.dataset.pipeline',
                  'test_dataloader.dataset.pipeline')
R101_KEYS = ('model.backbone.depth', 'model.backbone.init_cfg')
# A config's baseline: the config it differs from (``mmdet::`` for one of
# mmdet's own, where the plugin has no copy), and the keys it may change.
# Checked in order, the first matching name wins.
BASELINES = (
    ('retinanet_r101_fpn_ohem-',
     'retinanet/retinanet_r101_fpn_focal-600-1x_coco.py',
     RETINANET_METHOD_KEYS + ('model.train_cfg.ohem',)),
    ('retinanet_r101_fpn_focal-600-',
     'retinanet/retinanet_r50_fpn_focal-600-1x_coco.py', R101_KEYS),
    ('retinanet_r50_fpn_focal-600-',
     'retinanet/retinanet_r50_fpn_focal-1x_coco.py', SCALE_600_KEYS),
    # the GHM paper's Table 1 setting: its schedule (14 epochs) and EMA off
    ('retinanet_r50_fpn_ghmc-table1-',
     'retinanet/retinanet_r50_fpn_ghmc-1x_coco.py',
     RETINANET_METHOD_KEYS + ('train_cfg.max_epochs', 'param_scheduler')),
    ('retinanet_', 'retinanet/retinanet_r50_fpn_focal-1x_coco.py',
     RETINANET_METHOD_KEYS),
    ('faster-rcnn_r50_fpn_rank-sort-',
     'faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py', RS_RCNN_METHOD_KEYS),
    ('faster-rcnn_', 'faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py',
     FASTER_RCNN_METHOD_KEYS),
    ('mask-rcnn_r50_fpn_rank-sort-',
     'mask_rcnn/mask-rcnn_r50_fpn_ce-1x_coco.py',
     RS_RCNN_METHOD_KEYS + ('model.roi_head.type',
                            'model.roi_head.max_mask_rois',
                            'model.roi_head.mask_head.type',
                            'model.roi_head.mask_head.loss_mask')),
    ('mask-rcnn_', 'mask_rcnn/mask-rcnn_r50_fpn_ce-1x_coco.py',
     FASTER_RCNN_METHOD_KEYS),
    ('atss_', 'mmdet::atss/atss_r50_fpn_1x_coco.py', ATSS_METHOD_KEYS),
)


def _baseline_config(name):
    """A BASELINES config: one of configs/, or of mmdet's (``mmdet::``)."""
    if name.startswith('mmdet::'):
        return load(MMDET_CONFIGS / name[len('mmdet::'):])
    return load(CONFIGS / name)


def baseline_of(path):
    return next((base, keys) for prefix, base, keys in BASELINES
                if path.name.startswith(prefix))


def _under(key, prefixes):
    return any(key == p or key.startswith(p + '.') for p in prefixes)


# configs/ssd has a baseline per input size: test_ssd_mask_configs.py checks
# its configs against theirs.
@pytest.mark.parametrize(
    'path', [p for p in coco_configs() if p.parent.name != 'ssd'],
    ids=lambda p: p.name)
def test_differs_from_baseline_only_in_method_keys(path):
    baseline, keys = baseline_of(path)
    changed = delta(load(path), _baseline_config(baseline))
    outside = sorted(k for k in changed if not _under(k, keys))
    assert outside == []
    if path.relative_to(CONFIGS).as_posix() != baseline:
        assert changed, 'a method config must change something'


def _cfg(name):
    sub = 'retinanet' if name.startswith('retinanet') else 'faster_rcnn'
    return load(CONFIGS / sub / name)


def test_retinanet_variants_compose():
    focal = _cfg('retinanet_r50_fpn_focal-1x_coco.py')
    ghm = _cfg('retinanet_r50_fpn_ghm-1x_coco.py')
    ghmc = _cfg('retinanet_r50_fpn_ghmc-1x_coco.py')
    pisa = _cfg('retinanet_r50_fpn_pisa-1x_coco.py')
    ghm_pisa = _cfg('retinanet_r50_fpn_ghm-pisa-1x_coco.py')
    ce = _cfg('retinanet_r50_fpn_ce-1x_coco.py')
    # CE is the focal loss with gamma 0 and the CE-best alpha, nothing else
    assert delta(ce, focal) == {'model.bbox_head.loss_cls.gamma': 0.0,
                                'model.bbox_head.loss_cls.alpha': 0.75}
    # GHM-C alone: GHM's classification loss, smooth L1 regression
    d = delta(ghmc, ghm)
    assert all(k.startswith('model.bbox_head.loss_bbox') for k in d)
    assert d['model.bbox_head.loss_bbox.type'] == 'SmoothL1Loss'
    # GHM + PISA = GHM's losses + PISA's head and train_cfg
    pisa_part = {k: v for k, v in delta(pisa, focal).items()
                 if not k.startswith('model.bbox_head.loss_bbox')}
    assert delta(ghm_pisa, ghm) == pisa_part


def test_faster_rcnn_pisa_parts_compose():
    base = _cfg('faster-rcnn_r50_fpn_ce-1x_coco.py')
    parts = {}
    for part in ('isrp', 'isrn', 'carl'):
        d = delta(_cfg(f'faster-rcnn_r50_fpn_{part}-1x_coco.py'), base)
        assert d['model.roi_head.type'] == PLUGIN + 'PISARoIHead'
        parts[part] = d
    assert all(k.startswith('model.train_cfg.rcnn.isr') or
               k == 'model.roi_head.type' for k in parts['isrp'])
    assert all(k.startswith('model.train_cfg.rcnn.carl') or
               k == 'model.roi_head.type' for k in parts['carl'])
    assert parts['isrn']['model.train_cfg.rcnn.sampler.type'] == \
        PLUGIN + 'ScoreHLRSampler'
    assert not any('.isr' in k or '.carl' in k for k in parts['isrn'])
    union = {**parts['isrp'], **parts['isrn'], **parts['carl']}
    pisa = delta(_cfg('faster-rcnn_r50_fpn_pisa-1x_coco.py'), base)
    rest = {k: v for k, v in pisa.items() if k not in union}
    assert {k: pisa[k] for k in union} == union
    assert all(_under(k, ('model.roi_head.bbox_head.loss_bbox',
                          'model.train_cfg.rpn_proposal',
                          'model.test_cfg.rpn')) for k in rest)
    ghmc = delta(_cfg('faster-rcnn_r50_fpn_ghmc-1x_coco.py'), base)
    ghm = delta(_cfg('faster-rcnn_r50_fpn_ghm-1x_coco.py'), base)
    assert {k: ghm[k] for k in ghmc} == ghmc
    assert ghm['model.roi_head.bbox_head.loss_bbox.type'] == PLUGIN + 'GHMR'
    assert ghmc['model.roi_head.bbox_head.loss_cls.type'] == PLUGIN + 'GHMC'
    assert _cfg('faster-rcnn_r50_fpn_ghmc-1x_coco.py').model.roi_head \
        .bbox_head.loss_cls.use_sigmoid is False
    assert delta(_cfg('faster-rcnn_r50_fpn_ohem-1x_coco.py'), base) == {
        'model.train_cfg.rcnn.sampler.type': 'OHEMSampler'}


@pytest.mark.parametrize('path', all_configs(),
                         ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_uses_the_plugin_not_mmdet_methods(path):
    found = types(load(path).to_dict())
    stock = [t for t in found
             if t.split('.')[-1] in METHOD_TYPES and not t.startswith(PLUGIN)]
    assert stock == []


TOY_METHOD_KEYS = RETINANET_METHOD_KEYS[:-1] + FASTER_RCNN_METHOD_KEYS[:-2]
#: Method keys a toy config may change: sizes of the schedule's.
SCHEDULE_KEYS = ('model.train_cfg.rcnn.sampler.num',
                 'model.bbox_head.loss_cls.sb_period')


@pytest.mark.parametrize(
    'path', [p for p in all_configs() if p.parent.name == 'toy'],
    ids=lambda p: p.name)
def test_toy_config_keeps_its_coco_method(path):
    """A toy config takes the method keys of the COCO config it inherits
    unchanged (the RoI sampler's size and aLRP's self-balance period, an
    epoch, excepted)."""
    cfg = load(path)
    coco = [b for b in _bases(path) if b.endswith('_coco.py')]
    assert len(coco) == 1, 'a toy config inherits exactly one COCO config'
    base = coco[0]
    method = load(MMDET_CONFIGS / base.split('::', 1)[1]
                  if base.startswith('mmdet::') else
                  (path.parent / base).resolve())
    changed = delta(cfg, method)
    touched = sorted(k for k in changed if _under(k, TOY_METHOD_KEYS)
                     and k not in SCHEDULE_KEYS)
    assert touched == []
    assert cfg.model.get('bbox_head', cfg.model.get('roi_head'))


def _bases(path):
    import ast
    tree = ast.parse(Path(path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '_base_':
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


