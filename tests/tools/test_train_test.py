"""tools/train.py then tools/test.py on the toy RetinaNet and Faster R-CNN."""
import json
import math
import pickle

import pytest

from .tool_runner import (KEEP_ALL_DETECTIONS, TOY_FASTER_RCNN, TOY_RETINANET,
                          logged_train_scalars, run_tool, tiny_options)


@pytest.mark.parametrize('config', [TOY_RETINANET, TOY_FASTER_RCNN],
                         ids=['retinanet', 'faster_rcnn'])
def test_train_then_test(config, tmp_path):
    work = tmp_path / 'work'
    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
             *tiny_options(max_iters=4))
    logged = logged_train_scalars(work)
    assert sorted(logged) == [1, 2, 3, 4]
    assert all(math.isfinite(row['loss']) for row in logged.values())
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    assert checkpoint.endswith('iter_4.pth')

    metrics_file = tmp_path / 'metrics.json'
    out = tmp_path / 'results.pkl'
    shown = tmp_path / 'shown'
    run_tool('tools/test.py', config, checkpoint, '--work-dir', work,
             '--out', out, '--show-dir', shown, '--metrics-json',
             metrics_file, '--cfg-options', *tiny_options(),
             *KEEP_ALL_DETECTIONS[config])
    metrics = json.loads(metrics_file.read_text())
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        assert 0.0 <= metrics[key] <= 1.0
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 4
    boxes = predictions[0]['pred_instances']['bboxes']
    assert boxes.ndim == 2 and boxes.shape[1] == 4
    assert len(list(shown.rglob('*.jpg')) + list(shown.rglob('*.png'))) == 4


def test_test_time_augmentation(tmp_path):
    work = tmp_path / 'work'
    run_tool('tools/train.py', TOY_RETINANET, '--work-dir', work,
             '--cfg-options', *tiny_options(max_iters=2))
    metrics_file = tmp_path / 'metrics.json'
    run_tool('tools/test.py', TOY_RETINANET, work / 'iter_2.pth', '--tta',
             '--work-dir', work, '--metrics-json', metrics_file,
             '--cfg-options', *tiny_options(),
             *KEEP_ALL_DETECTIONS[TOY_RETINANET])
    assert 'coco/bbox_mAP_50' in json.loads(metrics_file.read_text())


def test_amp_without_cuda_is_a_clear_error(tmp_path):
    result = run_tool('tools/train.py', TOY_RETINANET, '--amp', '--work-dir',
                      tmp_path, check=False)
    assert result.returncode != 0
    assert '--amp' in result.stderr and 'CUDA' in result.stderr


def test_auto_scale_lr_scales_by_batch_size(tmp_path):
    work = tmp_path / 'work'
    result = run_tool('tools/train.py', TOY_RETINANET, '--auto-scale-lr',
                      '--work-dir', work, '--cfg-options',
                      *tiny_options(max_iters=1))
    # batch size 2 (tiny_options) against the toy base batch size of 8
    assert 'Scaling the original LR by 0.25.' in result.stdout + result.stderr
