"""Fixtures shared across test directories."""
import os
from types import SimpleNamespace

import pytest
import torch

from tests.train_helper import (
    GRADIENT_DENSITY_HOOK,
    TOY,
    derived_config,
    train,
)

# The toy trainings the suite runs (tools as subprocesses, which inherit this)
# use the losses eagerly: every cold process would otherwise pay the
# compilation. tests/losses/test_loss_compile.py switches it back on and
# checks the compiled kernels against eager.
os.environ.setdefault('IMBALANCE_PLUGIN_COMPILE', '0')


@pytest.fixture
def eager_single_thread(monkeypatch):
    """A test that builds and trains models in this process: the losses
    eager (no compilation per test), mmdet's default scope, one thread."""
    from mmengine.registry import init_default_scope
    monkeypatch.setenv('IMBALANCE_PLUGIN_COMPILE', '0')
    init_default_scope('mmdet')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


#: Iterations of the shared toy GHM run; checkpoints every two.
GHM_RUN_ITERS = 6


@pytest.fixture(scope='session')
def ghm_run(tmp_path_factory):
    """The toy GHM RetinaNet (GHM-C + GHM-R, the most state a checkpoint
    carries) with the GradientDensityHook on, trained ``GHM_RUN_ITERS``
    iterations through tools/train.py: ``config``, ``work_dir`` (checkpoints
    iter_2, iter_4, ...) and ``iters``. Shared by the resume tests
    (tests/tools, tests/losses) and the hook's (tests/hooks)."""
    root = tmp_path_factory.mktemp('ghm_run')
    # The one line a user adds to turn the hook on.
    config = derived_config(root / 'retinanet_ghm_with_hook.py',
                            TOY / 'retinanet_ghm_toy.py',
                            custom_hooks=[GRADIENT_DENSITY_HOOK])
    train(config, root / 'work', max_iters=GHM_RUN_ITERS)
    return SimpleNamespace(config=config, work_dir=root / 'work',
                           iters=GHM_RUN_ITERS)


@pytest.fixture(scope='session')
def ghm_run_resumed(ghm_run, tmp_path_factory):
    """Work dir of :func:`ghm_run` resumed from its iter_2 checkpoint and
    trained to the same end."""
    work = tmp_path_factory.mktemp('ghm_run_resumed')
    train(ghm_run.config, work, '--resume', ghm_run.work_dir / 'iter_2.pth',
          max_iters=ghm_run.iters)
    return work
