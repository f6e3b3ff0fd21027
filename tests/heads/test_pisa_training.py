"""The toy RetinaNet and Faster R-CNN with PISA, and with each PISA part
alone, train a few iterations through tools/train.py (as subprocesses, shrunk
through --cfg-options)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOY = REPO / 'configs' / 'toy'

# name: (config, extra --cfg-options, the PISA parts that must be active)
RUNS = {
    'retinanet-pisa': ('retinanet_pisa_toy.py', [], {'isr', 'carl'}),
    'retinanet-isrp': ('retinanet_pisa_toy.py', ['model.train_cfg.carl=None'],
                       {'isr'}),
    'retinanet-carl': ('retinanet_pisa_toy.py', ['model.train_cfg.isr=None'],
                       {'carl'}),
    'faster-rcnn-pisa': ('faster-rcnn_pisa_toy.py', [],
                         {'isr', 'isrn', 'carl'}),
    'faster-rcnn-isrp': ('faster-rcnn_isrp_toy.py', [], {'isr'}),
    'faster-rcnn-isrn': ('faster-rcnn_isrn_toy.py', [], {'isrn'}),
    'faster-rcnn-carl': ('faster-rcnn_carl_toy.py', [], {'carl'}),
}

TINY = [
    'train_cfg.max_iters=2',
    'train_cfg.val_begin=3',
    'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.dataset.indices=4',
    'default_hooks.logger.interval=1',
    'default_hooks.checkpoint.interval=2',
    'randomness.seed=0',
]


def train(config, options, work_dir):
    cmd = [sys.executable, 'tools/train.py', str(TOY / config), '--work-dir',
           str(work_dir), '--cfg-options', *TINY, *options]
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, (
        f'{" ".join(cmd)} exited with {result.returncode}:\n'
        f'{result.stdout[-3000:]}\n{result.stderr[-5000:]}')
    rows = []
    for scalars in sorted(work_dir.glob('*/vis_data/scalars.json')):
        rows += [json.loads(line) for line in scalars.read_text().splitlines()]
    return [row for row in rows if 'loss' in row]


def active_parts(work_dir):
    """PISA parts of the config the run dumped into its work dir."""
    from mmengine.config import Config
    dumped = sorted(work_dir.glob('*/vis_data/config.py')) or sorted(
        work_dir.glob('*.py'))
    cfg = Config.fromfile(str(dumped[-1]))
    train_cfg = cfg.model.train_cfg
    train_cfg = train_cfg.get('rcnn', train_cfg)
    parts = {p for p in ('isr', 'carl') if train_cfg.get(p) is not None}
    sampler = train_cfg.get('sampler', {}).get('type', '')
    if sampler.endswith('ScoreHLRSampler'):
        parts.add('isrn')
    return parts


@pytest.mark.parametrize('name', sorted(RUNS))
def test_toy_detector_trains_with_pisa_parts(name, tmp_path):
    config, options, parts = RUNS[name]
    rows = train(config, options, tmp_path)
    assert [row['iter'] for row in rows] == [1, 2]
    for row in rows:
        losses = {k: v for k, v in row.items() if k.startswith('loss')}
        assert all(math.isfinite(v) for v in losses.values()), losses
        assert ('loss_carl' in row) == ('carl' in parts)
    assert active_parts(tmp_path) == parts
    assert (tmp_path / 'iter_2.pth').exists()
