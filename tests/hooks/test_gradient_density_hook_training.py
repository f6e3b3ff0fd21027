"""GradientDensityHook in a short toy GHM training run through
tools/train.py: the text log and the JSON log receive every region's density
and weight, finite, and the densities are the GHM losses' buffers."""
import math
import subprocess
import sys
from pathlib import Path

import pytest

from imbalance_plugin.utils.checkpoint import load_local_checkpoint

REPO = Path(__file__).resolve().parents[2]
GHM_CONFIG = REPO / 'configs' / 'toy' / 'retinanet_ghm_toy.py'
MAX_ITERS = 3
LOSSES = {'bbox_head.cls': ('bbox_head.loss_cls', 30),
          'bbox_head.bbox': ('bbox_head.loss_bbox', 10)}


@pytest.fixture(scope='module')
def ghm_training(tmp_path_factory):
    """One run, shared by the tests of this module."""
    root = tmp_path_factory.mktemp('gradient_density_hook')
    config = root / 'ghm_with_hook.py'
    # The one line a user adds to turn the hook on.
    config.write_text(
        f'_base_ = {str(GHM_CONFIG)!r}\n'
        "custom_hooks = [dict(type='imbalance_plugin.GradientDensityHook', "
        'interval=1)]\n')
    work_dir = root / 'work'
    options = [
        f'train_cfg.max_iters={MAX_ITERS}', 'train_cfg.val_begin=100',
        'train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=2',
        'default_hooks.logger.interval=1', 'randomness.seed=0',
        # Eager kernels: compiling them would only slow the run down.
        'model.bbox_head.loss_cls.compiled=False',
        'model.bbox_head.loss_bbox.compiled=False'
    ]
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(config), '--work-dir',
         str(work_dir), '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[
        -5000:]
    return work_dir


def _json_rows(work_dir):
    import json
    files = sorted(work_dir.glob('*/vis_data/scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    rows = {}
    for line in files[-1].read_text().splitlines():
        row = json.loads(line)
        if 'iter' in row and 'lr' in row:
            rows[row['iter']] = row
    return rows


def test_every_iteration_logs_every_region(ghm_training):
    rows = _json_rows(ghm_training)
    assert sorted(rows) == list(range(1, MAX_ITERS + 1))
    for row in rows.values():
        for tag, (_, bins) in LOSSES.items():
            density = [row[f'ghm/{tag}/density_{k:02d}'] for k in range(bins)]
            weight = [row[f'ghm/{tag}/weight_{k:02d}'] for k in range(bins)]
            assert all(math.isfinite(v) for v in density + weight)
            assert all(v >= 0 for v in density + weight)
            assert sum(density) > 0
            non_empty = [k for k in range(bins) if density[k] > 0]
            for k in range(bins):
                expected = (sum(density) / (len(non_empty) * density[k])
                            if density[k] > 0 else 0.0)
                assert math.isclose(weight[k], expected, rel_tol=1e-5)
        assert not any(key.startswith('pisa/') for key in row)


def test_logged_density_is_the_checkpointed_buffer(ghm_training):
    last = _json_rows(ghm_training)[MAX_ITERS]
    state = load_local_checkpoint(
        str(ghm_training / f'iter_{MAX_ITERS}.pth'))['state_dict']
    for tag, (path, bins) in LOSSES.items():
        buffer = state[f'{path}.acc_sum'].tolist()
        logged = [last[f'ghm/{tag}/density_{k:02d}'] for k in range(bins)]
        assert logged == pytest.approx(buffer, rel=1e-6, abs=1e-6)


def test_text_log_shows_the_statistics(ghm_training):
    logs = sorted(ghm_training.glob('*/*.log'))
    assert logs
    text = logs[-1].read_text()
    assert 'ghm/bbox_head.cls/density_00:' in text
    assert 'ghm/bbox_head.bbox/weight_09:' in text
