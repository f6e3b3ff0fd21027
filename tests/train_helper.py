"""Runs the stock tools (tools/train.py, tools/test.py, tools/dist_train.sh)
as a user would: as subprocesses from the repository root, on a toy config
shrunk to a few iterations through ``--cfg-options``.

By default a run reads a small generated toy set (:data:`SMALL_SET`, one
folder shared by every dataloader and every test) instead of the full one,
and its backbone starts from random weights (``init_cfg=None``) instead of
the digit-pretrained ones: neither changes what the tools do, and the full
set and the pretraining are each worth minutes. A test that needs either
passes ``full_set=True`` or ``pretrained=True`` and says why.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / 'configs' / 'toy'
TOY_RETINANET = TOY / 'retinanet_toy.py'
TOY_FASTER_RCNN = TOY / 'faster_rcnn_toy.py'

#: Images per split of the small generated toy set.
SMALL_SET = dict(num_train=8, num_val=4)
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: The backbone from random weights, not the digit-pretrained ones.
RANDOM_BACKBONE = {'model.backbone.init_cfg': None}
#: The hook a user turns on to log GHM densities and PISA weights.
GRADIENT_DENSITY_HOOK = dict(type='imbalance_plugin.GradientDensityHook',
                             interval=1)

#: Keeps every detection of an untrained model, so that COCO evaluation has
#: results to score (the default threshold leaves none).
KEEP_ALL_DETECTIONS = {
    TOY_RETINANET: ['model.test_cfg.score_thr=0.0'],
    TOY_FASTER_RCNN: ['model.test_cfg.rcnn.score_thr=0.0'],
}


def small_set(num_train=SMALL_SET['num_train'],
              num_val=SMALL_SET['num_val']):
    """Config keys that make every dataloader read the small generated toy
    set; one spec for all three, so one folder is generated."""
    return {f'{loader}.dataset.{key}': value
            for loader in LOADERS
            for key, value in (('num_train', num_train),
                               ('num_val', num_val))}


def cfg_options(keys):
    """``{'a.b': 1}`` -> ``['a.b=1']``, as ``--cfg-options`` takes them."""
    return [f'{key}={value}' for key, value in keys.items()]


def tiny_options(max_iters=4, checkpoint_interval=2, batch_size=2,
                 full_set=False, pretrained=False):
    """--cfg-options values that shrink a toy config to seconds. Validation
    during training is off (``val_begin`` past the end): tests evaluate
    through tools/test.py. Losses logged every iteration, every checkpoint
    kept, seeded and deterministic (a resumed run repeats the losses)."""
    options = [
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_begin={max_iters + 1}',
        f'train_dataloader.batch_size={batch_size}',
        f'val_dataloader.batch_size={batch_size}',
        f'test_dataloader.batch_size={batch_size}',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={checkpoint_interval}',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'randomness.seed=0',
        'randomness.deterministic=True',
    ]
    if not full_set:
        options += cfg_options(small_set())
    if not pretrained:
        options += cfg_options(RANDOM_BACKBONE)
    return options


def derived_config(path, base, **assignments):
    """Writes at ``path`` a config that inherits ``base`` and sets the
    top-level ``assignments`` (as a user adds lines to a config)."""
    lines = [f'_base_ = {str(base)!r}']
    lines += [f'{key} = {value!r}' for key, value in assignments.items()]
    Path(path).write_text('\n'.join(lines) + '\n')
    return Path(path)


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


def train(config, work_dir, *args, options=(), check=True, **tiny):
    """``tools/train.py config --work-dir work_dir *args --cfg-options``
    with :func:`tiny_options` (``**tiny``) and then ``options``."""
    return run_tool('tools/train.py', config, '--work-dir', work_dir, *args,
                    '--cfg-options', *tiny_options(**tiny), *options,
                    check=check)


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
