"""A toy RetinaNet with GHM-C + GHM-R, resumed from a checkpoint through the
stock tools/train.py, continues with the losses and the moving averages of
an uninterrupted run: the moving averages travel in the checkpoint. (The
runs are conftest.py's ``ghm_run``; that a module without the averages
would diverge is checked in-process by test_ghm_loss.py.)"""
import pytest
import torch

from imbalance_plugin.utils.checkpoint import load_local_checkpoint
from tests.train_helper import logged_train_scalars

BUFFERS = ('bbox_head.loss_cls.acc_sum', 'bbox_head.loss_bbox.acc_sum')


def _buffers(checkpoint):
    state = load_local_checkpoint(checkpoint)['state_dict']
    return {name: state[name] for name in BUFFERS}


def test_resumed_ghm_run_continues_with_identical_losses(ghm_run,
                                                         ghm_run_resumed):
    for name, value in _buffers(ghm_run.work_dir / 'iter_2.pth').items():
        assert value.sum() > 0, name
    full = logged_train_scalars(ghm_run.work_dir)
    resumed = logged_train_scalars(ghm_run_resumed)
    assert sorted(resumed) == list(range(3, ghm_run.iters + 1))
    for it, row in resumed.items():
        for key in ('loss_cls', 'loss_bbox'):
            assert row[key] == pytest.approx(full[it][key], rel=1e-5), \
                (it, key)
    last = f'iter_{ghm_run.iters}.pth'
    expected = _buffers(ghm_run.work_dir / last)
    for name, value in _buffers(ghm_run_resumed / last).items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5,
                                   atol=1e-6, msg=name)
