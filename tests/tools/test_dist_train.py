"""tools/dist_train.sh: two CPU processes (gloo) train the toy RetinaNet, with
the learning rate scaled to the total batch size (--auto-scale-lr)."""
import socket

from mmengine.config import Config

from tests.train_helper import (
    TOY_RETINANET,
    logged_train_scalars,
    run_tool,
    tiny_options,
)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_cpu_training(tmp_path, monkeypatch):
    monkeypatch.setenv('PORT', str(_free_port()))
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    result = run_tool('tools/dist_train.sh', TOY_RETINANET, 2, '--work-dir',
                      tmp_path, '--auto-scale-lr', '--cfg-options',
                      *tiny_options(max_iters=3, batch_size=1))
    log = result.stdout + result.stderr
    # MMEngine's environment report: launcher and number of processes
    assert 'Distributed launcher: pytorch' in log
    assert 'GPU number: 2' in log
    base = Config.fromfile(TOY_RETINANET).auto_scale_lr.base_batch_size
    assert f'Scaling the original LR by {2 * 1 / base}.' in log  # 2 procs x 1
    logged = logged_train_scalars(tmp_path)
    assert sorted(logged) == [1, 2, 3]
    assert (tmp_path / 'iter_3.pth').exists()
