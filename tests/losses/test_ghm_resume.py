"""A toy RetinaNet with GHM-C + GHM-R, resumed from a checkpoint through the
stock tools/train.py, continues with the losses of an uninterrupted run: the
moving averages travel in the checkpoint. (That a module without them would
diverge is checked in-process by test_ghm_loss.py.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imbalance_plugin.utils.checkpoint import (allow_mmengine_checkpoints,
                                               load_local_checkpoint)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'toy' / 'retinanet_ghm_toy.py'
BUFFERS = ('bbox_head.loss_cls.acc_sum', 'bbox_head.loss_bbox.acc_sum')
MAX_ITERS = 4

OPTIONS = [
    f'train_cfg.max_iters={MAX_ITERS}',
    f'train_cfg.val_begin={MAX_ITERS + 1}',
    'train_dataloader.batch_size=2',
    'train_dataloader.dataset.indices=6',
    'default_hooks.logger.interval=1',
    'default_hooks.checkpoint.interval=2',
    'default_hooks.checkpoint.max_keep_ckpts=-1',
    'randomness.seed=0',
    'randomness.deterministic=True',
]


def _train(work_dir, *extra):
    # eager losses: at toy sizes compiling would cost more than it saves
    env = dict(os.environ, IMBALANCE_PLUGIN_COMPILE='0',
               PYTHONUNBUFFERED='1')
    cmd = [sys.executable, 'tools/train.py', str(CONFIG), '--work-dir',
           str(work_dir), *extra, '--cfg-options', *OPTIONS]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]


def _losses(work_dir):
    rows = {}
    for file in Path(work_dir).glob('*/vis_data/scalars.json'):
        for line in file.read_text().splitlines():
            row = json.loads(line)
            if 'loss_cls' in row:
                rows[row['iter']] = (row['loss_cls'], row['loss_bbox'])
    return rows


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    work = tmp_path_factory.mktemp('ghm_uninterrupted')
    _train(work)
    return work


def test_resumed_ghm_run_continues_with_identical_losses(uninterrupted,
                                                         tmp_path):
    allow_mmengine_checkpoints()
    state = load_local_checkpoint(uninterrupted / 'iter_2.pth')['state_dict']
    for name in BUFFERS:
        assert name in state and state[name].sum() > 0, name

    _train(tmp_path / 'resumed', '--resume', str(uninterrupted / 'iter_2.pth'))
    full, resumed = _losses(uninterrupted), _losses(tmp_path / 'resumed')
    assert sorted(resumed) == list(range(3, MAX_ITERS + 1))
    for it, (loss_cls, loss_bbox) in resumed.items():
        assert loss_cls == pytest.approx(full[it][0], rel=1e-5), it
        assert loss_bbox == pytest.approx(full[it][1], rel=1e-5), it

