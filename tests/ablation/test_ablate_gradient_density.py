"""tools/ablate.py --gradient-density end to end with the real tools: a toy
GHM RetinaNet trained a few iterations logs the hook's keys and gets the
analysis's PNGs and CSV in its run directory; a Faster R-CNN variant, which
the analysis does not handle, is reported skipped and the grid succeeds."""
import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from imbalance_plugin.ablation.metrics import training_scalars
from imbalance_plugin.ablation.records import read_csv

ROOT = Path(__file__).resolve().parents[2]
GHM_BINS = {'bbox_head.cls': 30, 'bbox_head.bbox': 10}
MAX_ITERS = 2
NUM_IMAGES = 2
GRID = """
title = 'tiny toy grid with gradient density'
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='ghm', baseline=True,
         config='{root}/configs/toy/retinanet_ghm_toy.py',
         cfg_options={{'model.test_cfg.score_thr': 0.0,
                       'model.bbox_head.loss_cls.compiled': False,
                       'model.bbox_head.loss_bbox.compiled': False}}),
    dict(name='faster', config='{root}/configs/toy/faster-rcnn_ce_toy.py',
         cfg_options={{'model.test_cfg.rcnn.score_thr': 0.0}}),
]
"""
TINY = [
    f'train_cfg.max_iters={MAX_ITERS}', 'default_hooks.logger.interval=1',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'test_dataloader.num_workers=0',
    'train_dataloader.dataset.num_train=6',
    'train_dataloader.dataset.num_val=3',
    'test_dataloader.dataset.num_train=6', 'test_dataloader.dataset.num_val=3',
    # the runner's plumbing is under test, not the detector: no pretraining
    'model.backbone.init_cfg=None',
]


@pytest.fixture(scope='module')
def grid_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('ablate_gradient_density')
    grid = root / 'tiny-grid.py'
    grid.write_text(GRID.format(root=ROOT))
    out = root / 'out'
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'ablate.py'), str(grid),
         '--work-dir', str(out), '--data-root', str(root / 'data'),
         '--gradient-density', '1', '--gradient-density-images',
         str(NUM_IMAGES), '--cfg-options', *TINY],
        capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[
        -4000:]
    return out, result.stdout


def test_training_log_has_the_hooks_keys(grid_run):
    out, _ = grid_run
    run_dir = out / 'ghm' / 'seed0'
    rows = training_scalars(run_dir)
    assert [row['iter'] for row in rows] == list(range(1, MAX_ITERS + 1))
    for row in rows:
        for tag, bins in GHM_BINS.items():
            for kind in ('density', 'weight'):
                values = [row[f'ghm/{tag}/{kind}_{k:02d}']
                          for k in range(bins)]
                assert all(math.isfinite(v) and v >= 0 for v in values)
            assert sum(row[f'ghm/{tag}/density_{k:02d}']
                       for k in range(bins)) > 0
    # MMEngine's dump of the trained config, under the variant's file name
    assert 'GradientDensityHook' in (run_dir /
                                     'retinanet_ghm_toy.py').read_text()


def test_analysis_files_in_the_run_directory(grid_run):
    out, stdout = grid_run
    plots = out.resolve() / 'ghm' / 'seed0' / 'gradient_density'
    for name in ('classification.png', 'regression.png'):
        data = (plots / name).read_bytes()
        assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 10000
    summary = json.loads((plots / 'summary.json').read_text())
    assert summary['num_images'] == NUM_IMAGES
    with open(plots / 'gradient_density.csv', newline='') as file:
        rows = list(csv.DictReader(file))
    counts = sum(int(r['count']) for r in rows
                 if r['part'] == 'classification')
    assert counts == summary['num_classification_examples'] > 0
    assert f'    ghm seed 0 gradient density: {plots}' in stdout
    ghm, _ = read_csv(out / 'results.csv')
    assert ghm.ok and (ghm.density, ghm.density_path) == ('ok', str(plots))
    assert f'- ghm seed 0: `{plots}`' in (out / 'results.md').read_text()


def test_faster_rcnn_is_skipped_and_the_grid_succeeds(grid_run):
    out, stdout = grid_run
    _, faster = read_csv(out / 'results.csv')
    assert faster.ok and faster.AP is not None
    assert faster.density == 'skipped'
    assert 'AnchorHead' in faster.density_reason
    assert (f'    faster seed 0 gradient density: skipped: '
            f'{faster.density_reason}') in stdout
    assert not (out / 'faster' / 'seed0' / 'gradient_density' /
                'summary.json').exists()
