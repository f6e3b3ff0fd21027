"""tools/ablate.py end to end with the real tools/train.py and tools/test.py:
a two-variant toy grid (one variant broken by a bad config value), a few
iterations on a tiny generated toy set. (Resuming and skipping are tested
with stand-in tools in test_runner.py.)"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from imbalance_plugin.ablation.records import read_csv

ROOT = Path(__file__).resolve().parents[2]
GRID = """
title = 'tiny toy grid'
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='focal', baseline=True,
         config='{root}/configs/toy/retinanet_focal_toy.py'),
    dict(name='broken', config='{root}/configs/toy/retinanet_focal_toy.py',
         cfg_options={{'model.bbox_head.loss_cls.gamma': -1.0}}),
]
"""
TINY = [
    'train_cfg.max_iters=2', 'default_hooks.logger.interval=1',
    # keep the untrained detector's detections so that AP is computed
    'model.test_cfg.score_thr=0.0',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'test_dataloader.num_workers=0',
    'train_dataloader.dataset.num_train=6',
    'train_dataloader.dataset.num_val=3',
    'test_dataloader.dataset.num_train=6', 'test_dataloader.dataset.num_val=3',
    # the runner's plumbing is under test, not the detector: no pretraining
    'model.backbone.init_cfg=None',
]


def _ablate(grid, out, data, *extra):
    return subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'ablate.py'), str(grid),
         '--work-dir', str(out), '--data-root', str(data), *extra,
         '--cfg-options', *TINY],
        capture_output=True, text=True, cwd=ROOT, timeout=900)


def test_ablate_runs_a_grid_through_the_stock_tools(tmp_path, row_of):
    grid = tmp_path / 'tiny-grid.py'
    grid.write_text(GRID.format(root=ROOT))
    out, data = tmp_path / 'out', tmp_path / 'data'

    first = _ablate(grid, out, data, '--jobs', '2')
    assert first.returncode == 1, first.stdout + first.stderr
    assert '2 at a time' in first.stdout
    assert '[1/2] start focal seed 0' in first.stdout
    assert '[2/2] start broken seed 0' in first.stdout
    assert 'end   broken seed 0: FAILED in train, log: ' in first.stdout
    assert any(data.iterdir()), 'the toy set was generated under --data-root'

    focal, broken = read_csv(out / 'results.csv')
    assert focal.variant == 'focal' and focal.ok
    assert 0.0 <= focal.AP <= focal.AP50 <= 100.0
    metrics = json.loads((out / 'focal' / 'seed0' / 'metrics.json')
                         .read_text())
    assert focal.AP == pytest.approx(100 * metrics['coco/bbox_mAP'])
    assert focal.APs == pytest.approx(100 * metrics['coco/bbox_mAP_s'])
    # the toy set has no large objects: COCO's -1 is left empty
    assert metrics['coco/bbox_mAP_l'] == -1 and focal.APl is None
    assert focal.s_per_iter > 0 and focal.peak_mem_mb > 50
    assert focal.mem_source == 'rss'
    assert (out / 'focal' / 'seed0' / 'metrics.json').is_file()
    # without --gradient-density: the variant's config trained as it is
    dumped = out / 'focal' / 'seed0' / 'retinanet_focal_toy.py'
    assert 'GradientDensityHook' not in dumped.read_text()
    assert not (out / 'focal' / 'seed0' / 'gradient_density').exists()
    assert focal.density == ''
    assert (broken.status, broken.failed_step) == ('failed', 'train')
    assert broken.log == str(out / 'broken' / 'seed0' / 'train.log')
    assert 'gamma' in Path(broken.log).read_text()
    table = (out / 'results.md').read_text()
    cells = row_of(table, 'focal')
    assert (cells['Seeds'], cells['AP'], cells['ΔAP']) == (
        '1', f'{focal.AP:.1f}', 'baseline')
    assert table in first.stdout
    assert (out / 'results.png').stat().st_size > 1000


@pytest.mark.parametrize('extra, message', [
    (['--jobs', '0'], '--jobs must be an integer >= 1, got 0'),
    (['--seeds', '0'], '--seeds must be an integer >= 1, got 0'),
    (['--jobs', '2', '--launcher', 'pytorch'],
     '--jobs: runs going at once need the launcher none or slurm; with '
     'pytorch each run takes all the GPUs, got jobs=2'),
    (['--reuse', 'pisa-methods-toy', '--gradient-density', '5'],
     '--reuse: runs trained with the gradient-density hook are not the '
     "same experiment as another grid's; drop one of the two"),
    (['--reuse', 'retinanet-toy'],
     '--reuse: retinanet-toy is the grid being run'),
    (['--reuse', 'pisa-method-toy'],
     "grid: 'pisa-method-toy' is neither a built-in grid"),
])
def test_bad_jobs_is_a_usage_error(tmp_path, extra, message):
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'ablate.py'), 'retinanet-toy',
         '--work-dir', str(tmp_path), *extra],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir())


def _tool(*args, timeout=120):
    return subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'ablate.py'), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def test_plan_prints_every_cell_and_runs_nothing(tmp_path):
    result = _tool('focal-gamma', '--plan', '--seeds', '2', '--work-dir',
                   str(tmp_path / 'out'), '--cfg-options', 'x=1')
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line['label'] for line in lines] == [
        'gamma=0,alpha=0.75', 'gamma=0.1,alpha=0.75', 'gamma=0.2,alpha=0.75',
        'gamma=0.5,alpha=0.5', 'gamma=1,alpha=0.25', 'gamma=2,alpha=0.25',
        'gamma=5,alpha=0.25']
    best = lines[5]
    assert best['name'] == 'gamma2_alpha0.25'
    assert best['config'] == str(
        ROOT / 'configs/retinanet/retinanet_r50_fpn_focal-600-1x_coco.py')
    assert best['overrides'] == ['model.bbox_head.loss_cls.gamma=2.0',
                                 'model.bbox_head.loss_cls.alpha=0.25', 'x=1']
    assert best['published'] == {
        'source': 'Lin et al., Focal Loss for Dense Object Detection, ICCV '
        '2017 (arXiv 1708.02002), Table 1b: RetinaNet R-50-FPN, 600 px, '
        'COCO minival', 'AP': 34.0, 'AP50': 52.5, 'AP75': 36.5}
    assert best['seeds'] == [0, 1] and best['values'] == dict(gamma=2.0,
                                                             alpha=0.25)
    assert [line['baseline'] for line in lines] == [True] + [False] * 6
    assert not (tmp_path / 'out').exists()


def test_plan_with_data_root_and_only(tmp_path):
    result = _tool('focal-alpha', '--plan', '--only', 'alpha0.25',
                   '--data-root', str(tmp_path))
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line['name'] == 'alpha0.25'
    root = str(tmp_path.resolve()) + '/'
    assert 'model.bbox_head.loss_cls.gamma=0.0' in line['overrides']
    assert 'model.bbox_head.loss_cls.alpha=0.25' in line['overrides']
    assert f'train_dataloader.dataset.data_root={root}' in line['overrides']
    assert (f'val_evaluator.ann_file={root}annotations/'
            'instances_val2017.json') in line['overrides']


def test_list_shows_the_paper_grids_and_their_toy_counterparts():
    result = _tool('--list')
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0]: line for line in result.stdout.splitlines()}
    for name in ('focal-alpha', 'focal-gamma', 'focal-anchors', 'ghm-bins',
                 'ghm-losses', 'pisa-parts'):
        assert name in listed and f'{name}-toy' in listed
    assert listed['focal-gamma'].split()[1:3] == ['7', 'variants']
