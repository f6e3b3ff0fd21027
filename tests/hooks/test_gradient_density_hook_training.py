"""GradientDensityHook in a short toy GHM training run through
tools/train.py (conftest.py's ``ghm_run``): the text log and the JSON log
receive every region's density and weight, finite, and the densities are
the GHM losses' buffers."""
import math

import pytest

from imbalance_plugin.utils.checkpoint import load_local_checkpoint
from tests.train_helper import logged_train_scalars

LOSSES = {'bbox_head.cls': ('bbox_head.loss_cls', 30),
          'bbox_head.bbox': ('bbox_head.loss_bbox', 10)}


def test_every_iteration_logs_every_region(ghm_run):
    rows = logged_train_scalars(ghm_run.work_dir)
    assert sorted(rows) == list(range(1, ghm_run.iters + 1))
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


def test_logged_density_is_the_checkpointed_buffer(ghm_run):
    last = logged_train_scalars(ghm_run.work_dir)[ghm_run.iters]
    state = load_local_checkpoint(
        str(ghm_run.work_dir / f'iter_{ghm_run.iters}.pth'))['state_dict']
    for tag, (path, bins) in LOSSES.items():
        buffer = state[f'{path}.acc_sum'].tolist()
        logged = [last[f'ghm/{tag}/density_{k:02d}'] for k in range(bins)]
        assert logged == pytest.approx(buffer, rel=1e-6, abs=1e-6)


def test_text_log_shows_the_statistics(ghm_run):
    logs = sorted(ghm_run.work_dir.glob('*/*.log'))
    assert logs
    text = logs[-1].read_text()
    assert 'ghm/bbox_head.cls/density_00:' in text
    assert 'ghm/bbox_head.bbox/weight_09:' in text
