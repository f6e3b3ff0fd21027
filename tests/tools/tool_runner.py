"""Runs the stock tools as a user would: as subprocesses, on the toy configs,
shrunk to a few iterations and images through --cfg-options."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOY_RETINANET = REPO / 'configs' / 'toy' / 'retinanet_toy.py'
TOY_FASTER_RCNN = REPO / 'configs' / 'toy' / 'faster_rcnn_toy.py'


def tiny_options(max_iters=4, checkpoint_interval=2, train_images=8,
                 val_images=4):
    """--cfg-options values that shrink a toy config to seconds. Validation
    during training is off (``val_begin`` past the end): tests evaluate
    through tools/test.py."""
    return [
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_begin={max_iters + 1}',
        'train_dataloader.batch_size=2',
        f'train_dataloader.dataset.indices={train_images}',
        'val_dataloader.batch_size=2',
        f'val_dataloader.dataset.indices={val_images}',
        'test_dataloader.batch_size=2',
        f'test_dataloader.dataset.indices={val_images}',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={checkpoint_interval}',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'randomness.seed=0',
        'randomness.deterministic=True',
    ]


#: Keeps every detection of an untrained model, so that COCO evaluation has
#: results to score (the default threshold leaves none).
KEEP_ALL_DETECTIONS = {
    TOY_RETINANET: ['model.test_cfg.score_thr=0.0'],
    TOY_FASTER_RCNN: ['model.test_cfg.rcnn.score_thr=0.0'],
}


def run_tool(*args, timeout=900, check=True):
    """Runs ``args`` (a tool and its arguments) from the repository root."""
    env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    cmd = [str(a) for a in args]
    if cmd[0].endswith('.py'):
        cmd = [sys.executable] + cmd
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f'{" ".join(cmd)} exited with {result.returncode}:\n'
                    f'{result.stdout[-3000:]}\n{result.stderr[-5000:]}')
    return result


def logged_train_scalars(work_dir):
    """Training log lines (vis_data/scalars.json) keyed by iteration."""
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    rows = {}
    for file in files:
        for line in file.read_text().splitlines():
            row = json.loads(line)
            if 'loss' in row:
                rows[row['iter']] = row
    return rows
