"""Reading test metrics and training speed / memory from MMEngine's files."""
import json

import pytest

from imbalance_plugin.ablation.metrics import (
    coco_metrics,
    training_speed_memory,
)

COCO = {'coco/bbox_mAP': 0.365, 'coco/bbox_mAP_50': 0.554,
        'coco/bbox_mAP_75': 0.391, 'coco/bbox_mAP_s': 0.208,
        'coco/bbox_mAP_m': 0.403, 'coco/bbox_mAP_l': 0.481}


def test_coco_metrics_in_percent(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps(dict(COCO, **{'coco/bbox_mAR': 0.5})))
    got = coco_metrics(path)
    assert got == pytest.approx({'AP': 36.5, 'AP50': 55.4, 'AP75': 39.1,
                                 'APs': 20.8, 'APm': 40.3, 'APl': 48.1})


def test_coco_metrics_falls_back_to_mmengine_json(tmp_path):
    older = tmp_path / 'test' / '20240101_000000'
    newer = tmp_path / 'test' / '20240102_000000'
    for d, ap in ((older, 0.1), (newer, 0.2)):
        d.mkdir(parents=True)
        (d / f'{d.name}.json').write_text(
            json.dumps(dict(COCO, **{'coco/bbox_mAP': ap})))
    got = coco_metrics(tmp_path / 'missing.json', tmp_path / 'test')
    assert got['AP'] == pytest.approx(20.0)


def test_size_range_without_objects_is_none(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps(dict(COCO, **{'coco/bbox_mAP_l': -1.0})))
    got = coco_metrics(path)
    assert got['APl'] is None and got['APm'] == pytest.approx(40.3)


def test_no_detection_at_all_is_zero_ap(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text('{}')
    assert coco_metrics(path) == {'AP': 0.0, 'AP50': 0.0, 'AP75': 0.0,
                                  'APs': 0.0, 'APm': 0.0, 'APl': 0.0}


def test_coco_metrics_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        coco_metrics(tmp_path / 'missing.json', tmp_path)
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps({'coco/bbox_mAP': 0.1}))
    with pytest.raises(KeyError, match='bbox_mAP_50'):
        coco_metrics(path)


def _scalars(path, lines):
    path.mkdir(parents=True)
    (path / 'scalars.json').write_text(
        '\n'.join(json.dumps(x) for x in lines) + '\n')


def test_speed_is_median_of_training_lines_across_resumed_sessions(tmp_path):
    _scalars(tmp_path / '20240101_000000' / 'vis_data', [
        dict(lr=0.01, loss=2.0, time=3.0, iter=50, memory=900),
        dict(lr=0.01, loss=1.5, time=0.4, iter=100, memory=1000),
        {'coco/bbox_mAP': 0.1, 'step': 100}])
    _scalars(tmp_path / '20240102_000000' / 'vis_data', [
        dict(lr=0.01, loss=1.0, time=0.5, iter=150, memory=950)])
    # a test run's log under the run dir must not count
    _scalars(tmp_path / 'test' / '20240103_000000' / 'vis_data', [
        dict(loss=9.0, time=99.0, memory=99999)])
    seconds, memory = training_speed_memory(tmp_path)
    assert seconds == 0.5 and memory == 1000


def test_speed_without_logs_or_memory(tmp_path):
    assert training_speed_memory(tmp_path) == (None, None)
    _scalars(tmp_path / 'x' / 'vis_data', [dict(loss=1.0, time=0.2)])
    assert training_speed_memory(tmp_path) == (0.2, None)
