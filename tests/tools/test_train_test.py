"""tools/train.py then tools/test.py on the toy RetinaNet and Faster R-CNN."""
import json
import math
import pickle

import pytest

from tests.train_helper import (
    KEEP_ALL_DETECTIONS,
    SMALL_SET,
    TOY_FASTER_RCNN,
    TOY_RETINANET,
    logged_train_scalars,
    run_tool,
    tiny_options,
    train,
)

CONFIGS = {'retinanet': TOY_RETINANET, 'faster_rcnn': TOY_FASTER_RCNN}


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def trained(request, tmp_path_factory):
    """(config, work dir) after 4 training iterations of the toy detector."""
    config = CONFIGS[request.param]
    work = tmp_path_factory.mktemp(request.param)
    train(config, work, max_iters=4)
    return config, work


def test_train_logs_every_iteration_and_checkpoints(trained):
    _, work = trained
    logged = logged_train_scalars(work)
    assert sorted(logged) == [1, 2, 3, 4]
    assert all(math.isfinite(row['loss']) for row in logged.values())
    assert (work / 'last_checkpoint').read_text().strip() == \
        str(work / 'iter_4.pth')


def test_test_writes_metrics_predictions_and_images(trained, tmp_path):
    config, work = trained
    metrics_file = tmp_path / 'metrics.json'
    out = tmp_path / 'results.pkl'
    shown = tmp_path / 'shown'
    run_tool('tools/test.py', config, work / 'iter_4.pth', '--work-dir',
             tmp_path, '--out', out, '--show-dir', shown, '--metrics-json',
             metrics_file, '--cfg-options', *tiny_options(),
             *KEEP_ALL_DETECTIONS[config])
    metrics = json.loads(metrics_file.read_text())
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        assert 0.0 <= metrics[key] <= 1.0
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == SMALL_SET['num_val']
    boxes = predictions[0]['pred_instances']['bboxes']
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) > 0
    assert len(list(shown.rglob('*.jpg')) + list(shown.rglob('*.png'))) == \
        SMALL_SET['num_val']


@pytest.mark.parametrize('trained', ['retinanet'], indirect=True)
def test_test_time_augmentation(trained, tmp_path):
    config, work = trained
    metrics_file = tmp_path / 'metrics.json'
    result = run_tool('tools/test.py', config, work / 'iter_4.pth', '--tta',
                      '--work-dir', tmp_path, '--metrics-json', metrics_file,
                      '--cfg-options', *tiny_options(),
                      *KEEP_ALL_DETECTIONS[config])
    assert 'DetTTAModel' in result.stdout + result.stderr
    assert 0.0 <= json.loads(metrics_file.read_text())['coco/bbox_mAP_50'] <= 1


def test_test_out_must_be_a_pickle(tmp_path):
    result = run_tool('tools/test.py', TOY_RETINANET, tmp_path / 'x.pth',
                      '--out', tmp_path / 'results.json', check=False)
    assert result.returncode == 2
    assert '--out must name a .pkl or .pickle file' in result.stderr


def test_amp_without_cuda_is_a_clear_error(tmp_path):
    result = run_tool('tools/train.py', TOY_RETINANET, '--amp', '--work-dir',
                      tmp_path, check=False)
    assert result.returncode != 0
    assert '--amp' in result.stderr and 'CUDA' in result.stderr
