"""--data-root: every place a config's data_root ended up is moved."""
from pathlib import Path

from mmengine.config import Config

from imbalance_plugin.ablation.overrides import (
    data_root_options,
    merge_cli,
    resolved_config,
    to_cli,
)

ROOT = Path(__file__).resolve().parents[2]


def test_coco_config_moves_datasets_and_evaluators(tmp_path):
    path = ROOT / 'configs/retinanet/retinanet_r50_fpn_focal-1x_coco.py'
    cfg = Config.fromfile(str(path))
    options = data_root_options(cfg, tmp_path)
    cfg.merge_from_dict(options)
    new = str(tmp_path) + '/'
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.data_root == new
    assert cfg.val_evaluator.ann_file == \
        new + 'annotations/instances_val2017.json'
    assert cfg.test_evaluator.ann_file == \
        new + 'annotations/instances_val2017.json'
    # nothing else mentions the old root
    assert 'data/coco/' not in cfg.pretty_text


def test_wrapped_dataset_and_evaluator_list(tmp_path):
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='RepeatDataset', times=2,
                                           dataset=dict(data_root='d/'))),
        val_dataloader=dict(dataset=dict(data_root='d/')),
        val_evaluator=[dict(ann_file='d/a.json'), dict(ann_file='/x.json')]))
    options = data_root_options(cfg, tmp_path)
    new = str(tmp_path) + '/'
    assert options == {
        'train_dataloader.dataset.dataset.data_root': new,
        'val_dataloader.dataset.data_root': new,
        'val_evaluator.0.ann_file': new + 'a.json'}


def test_cfg_options_formatting():
    assert to_cli({'a': {'b': 1, 'c': [1, 2]}}, {'d': None, 'a.b': 3}) == \
        ['a.b=3', 'a.c=[1,2]', 'd=None']
    assert merge_cli(['a=1', 'b=2'], ['a=3']) == ['a=3', 'b=2']


def test_data_root_after_overrides_that_drop_validation(tmp_path):
    path = ROOT / 'configs/faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'
    cfg = resolved_config(path, ['val_cfg=None', 'val_dataloader=None',
                                 'val_evaluator=None',
                                 'test_dataloader.batch_size=3'])
    assert cfg.val_dataloader is None and cfg.test_dataloader.batch_size == 3
    options = data_root_options(cfg, tmp_path)
    assert not any(k.startswith('val_') for k in options)
    assert {'train_dataloader.dataset.data_root',
            'test_dataloader.dataset.data_root',
            'test_evaluator.ann_file'} <= set(options)
