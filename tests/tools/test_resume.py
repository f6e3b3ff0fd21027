"""--resume under torch >= 2.6: MMEngine's own checkpoints load with
weights_only=True, a resumed run logs the same losses as an uninterrupted one,
and a checkpoint carrying any other object is refused. The runs are the
toy GHM RetinaNet's of conftest.py (``ghm_run``), shared with the GHM and
hook tests."""
import os

import pytest
import torch

from imbalance_plugin.utils.torch_compat import HAS_SAFE_GLOBALS
from tests.train_helper import logged_train_scalars, train

LOSS_KEYS = ('loss', 'loss_cls', 'loss_bbox')


def test_resume_from_middle_checkpoint_continues_identically(
        ghm_run, ghm_run_resumed):
    full = logged_train_scalars(ghm_run.work_dir)
    resumed = logged_train_scalars(ghm_run_resumed)
    assert sorted(resumed) == [3, 4, 5, 6]
    for it in resumed:
        for key in LOSS_KEYS:
            assert resumed[it][key] == pytest.approx(full[it][key],
                                                     rel=1e-5), (it, key)


def test_resume_without_path_takes_latest_checkpoint(ghm_run, tmp_path):
    for name in ('iter_2.pth', 'iter_4.pth'):
        os.link(ghm_run.work_dir / name, tmp_path / name)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    result = train(ghm_run.config, tmp_path, '--resume', max_iters=6)
    assert 'resumed epoch: 0, iter: 4' in result.stdout + result.stderr
    assert sorted(logged_train_scalars(tmp_path)) == [5, 6]


needs_safe_globals = pytest.mark.skipif(
    not HAS_SAFE_GLOBALS,
    reason=f'torch {torch.__version__} has no add_safe_globals: no '
    'allow-list to check, and its torch.load runs pickled code by default')


class Payload:
    """Runs a shell command when unpickled by a permissive loader."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@needs_safe_globals
def test_checkpoint_with_foreign_object_is_refused(ghm_run, tmp_path):
    checkpoint = torch.load(ghm_run.work_dir / 'iter_2.pth',
                            weights_only=False)
    marker = tmp_path / 'code-ran'
    checkpoint['meta']['note'] = Payload(marker)
    crafted = tmp_path / 'crafted.pth'
    torch.save(checkpoint, crafted)
    result = train(ghm_run.config, tmp_path / 'work', '--resume', crafted,
                   max_iters=6, check=False)
    assert result.returncode != 0
    assert f'refusing to load checkpoint {crafted}' in result.stderr
    assert 'posix.system' in result.stderr
    assert not marker.exists()


@needs_safe_globals
def test_allow_list_is_exactly_what_mmengine_stores(ghm_run):
    from imbalance_plugin.utils.checkpoint import MMENGINE_CHECKPOINT_GLOBALS
    allow_listed = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(
            str(ghm_run.work_dir / 'iter_2.pth')))
    finally:
        torch.serialization.add_safe_globals(allow_listed)
    allowed = set()
    for entry in MMENGINE_CHECKPOINT_GLOBALS:
        if isinstance(entry, tuple):
            allowed.add(entry[1])
        else:
            allowed.add(f'{entry.__module__}.{entry.__qualname__}')
    # numpy dtype classes are built, not named, so the scan does not list them
    named = {name for name in allowed if not name.startswith('numpy.dtypes.')}
    assert named == needed
