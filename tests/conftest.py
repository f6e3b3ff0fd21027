"""Fixtures shared across test directories."""
import os
from types import SimpleNamespace

import pytest
import torch

# The toy trainings the suite runs (tools as subprocesses, which inherit this)
# use the losses eagerly: every cold process would otherwise pay ~20 s of
# compilation. tests/losses/test_loss_compile.py switches it back on and
# checks the compiled kernels against eager.
os.environ.setdefault('IMBALANCE_PLUGIN_COMPILE', '0')


@pytest.fixture
def mmdet_score_hlr_keys(monkeypatch):
    """Records the Score-HLR keys mmdet 3.3.0's ScoreHLRSampler sorts.

    mmdet ranks negatives by the float32 key ``(n - rank) + score`` with an
    unstable sort, so negatives whose keys round to the same float come out in
    an arbitrary order. ``tie_free()`` tells whether every key recorded since
    the last ``clear()`` was distinct, i.e. whether the inputs are tie-free
    and mmdet's order is well defined.
    """
    import mmdet.models.task_modules.samplers.score_hlr_sampler as module
    real_nms_match = module.nms_match
    recorded = []

    def recording_nms_match(dets, iou_thr):
        groups = real_nms_match(dets, iou_thr)
        recorded.append((dets.detach().clone(), groups))
        return groups

    def tie_free():
        for dets, groups in recorded:
            n = dets.size(0)
            keys = dets.new_zeros(n)
            for group in groups:
                rank = torch.arange(group.numel(), dtype=dets.dtype)
                keys[group] = (n - rank) + dets[group, 4]
            if keys.unique().numel() < n:
                return False
        return True

    monkeypatch.setattr(module, 'nms_match', recording_nms_match)
    return SimpleNamespace(tie_free=tie_free, clear=recorded.clear)
