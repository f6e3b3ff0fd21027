"""The shared toy bases (configs/_base_/toy/) leave nothing of COCO's data in
a toy config, train a small model from scratch with no download, and their
schedules define the same names."""
import pytest
from mmengine.config import Config

from cfg_helpers import CONFIGS, all_configs, load
from imbalance_plugin.datasets.toy_generator import CLASSES

TOY = [p for p in all_configs() if p.parent.name == 'toy']
SCHEDULES = sorted((CONFIGS / '_base_' / 'toy').glob('schedule*.py'))


def _strings(obj):
    if isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _strings(value)
    elif isinstance(obj, str):
        yield obj


def test_there_are_toy_configs_and_three_schedules():
    names = {p.name for p in TOY}
    assert {'retinanet_toy.py', 'faster_rcnn_toy.py'} <= names
    assert [p.name for p in SCHEDULES] == [
        'schedule.py', 'schedule_demo.py', 'schedule_demo_retinanet.py']


@pytest.mark.parametrize('path', TOY, ids=lambda p: p.name)
def test_toy_config_uses_only_the_toy_data(path):
    cfg = load(path)
    for split, toy_split in (('train', 'train'), ('val', 'val'),
                             ('test', 'val')):
        loader = cfg[f'{split}_dataloader']
        assert loader.dataset.type == 'imbalance_plugin.ToyDetDataset'
        assert loader.dataset.split == toy_split
        assert 'ann_file' not in loader.dataset
        assert not loader.persistent_workers and loader.num_workers <= 2
        evaluator = cfg[f'{split}_evaluator'] if split != 'train' else {}
        assert evaluator.get('ann_file') is None
        # Nothing left of COCO's paths (data/coco/, instances_*.json).
        for text in _strings((loader.to_dict(), dict(evaluator))):
            assert 'coco/' not in text and 'instances_' not in text, text
    # The evaluator builds its ground truth from the dataset's instances.
    pack = cfg.val_dataloader.dataset.pipeline[-1]
    assert 'instances' in pack.meta_keys


@pytest.mark.parametrize('path', TOY, ids=lambda p: p.name)
def test_toy_model_is_small_digit_pretrained_with_toy_classes(path):
    model = load(path).model
    backbone = model.backbone
    assert (backbone.type, backbone.depth) == ('ResNet', 18)
    assert backbone.base_channels <= 32
    # The locally pretrained weights, never a download.
    assert backbone.init_cfg == dict(type='imbalance_plugin.ToyPretrained')
    # Fine-tuned whole: nothing frozen, batch statistics learned.
    assert backbone.frozen_stages == -1 and backbone.norm_eval is False
    assert model.neck.in_channels == [backbone.base_channels * 2**i
                                      for i in range(4)]
    head = model.bbox_head if 'bbox_head' in model else \
        model.roi_head.bbox_head
    assert head.num_classes == len(CLASSES)
    assert "'Pretrained'" not in str(model.to_dict())  # no download


@pytest.mark.parametrize('path', TOY, ids=lambda p: p.name)
def test_toy_schedule_is_consistent(path):
    cfg = load(path)
    max_iters = cfg.train_cfg.max_iters
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.val_interval == max_iters
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    for scheduler in cfg.param_scheduler:
        assert scheduler.by_epoch is False
        assert scheduler.get('end', max_iters) <= max_iters
        assert all(m < max_iters for m in scheduler.get('milestones', []))
    assert cfg.default_hooks.checkpoint.by_epoch is False
    assert cfg.log_processor.by_epoch is False


def test_demo_schedules_keep_the_baselines_names_and_settings():
    baseline, *demos = [Config.fromfile(str(p)) for p in SCHEDULES]
    names = set(baseline.keys())
    assert all(set(demo.keys()) == names for demo in demos)
    assert all(name.startswith('toy_') for name in names)
    assert all(d.toy_max_iters < baseline.toy_max_iters for d in demos)

    def without_lr(optimizer):
        return {k: v for k, v in optimizer.items() if k != 'lr'}

    # Everything but length, decay, checkpoints and learning rate is the
    # baseline's (the demos inherit it).
    for demo in demos:
        assert demo.toy_optim_wrapper.clip_grad == \
            baseline.toy_optim_wrapper.clip_grad
        assert without_lr(demo.toy_optim_wrapper.optimizer) == without_lr(
            baseline.toy_optim_wrapper.optimizer)
        assert demo.toy_default_hooks.logger == \
            baseline.toy_default_hooks.logger


def test_toy_bases_only_define_prefixed_names():
    """So that they can sit beside a COCO config in one ``_base_`` list."""
    for path in (CONFIGS / '_base_' / 'toy').glob('*.py'):
        keys = Config.fromfile(str(path)).keys()
        assert keys and all(k.startswith('toy_') for k in keys), path.name
    data = Config.fromfile(str(CONFIGS / '_base_' / 'toy' / 'data.py'))
    assert data.toy_num_classes == len(CLASSES)
