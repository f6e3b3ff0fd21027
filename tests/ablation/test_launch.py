"""Command lines per launcher, checked through the project's real
tools/dist_*.sh and tools/slurm_*.sh with a recording interpreter and srun."""
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from imbalance_plugin.ablation.launch import Launch

TOOLS = Path(__file__).resolve().parents[2] / 'tools'


def _recorder(path: Path, log: Path) -> Path:
    path.write_text('#!/bin/sh\n'
                    'python3 -c "import json,sys; '
                    'print(json.dumps(sys.argv[1:]))"'
                    f' "$@" >> {log}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _run(argv, env, log):
    subprocess.run(argv, env=env, check=True)
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_none_launcher_runs_the_tools_with_this_interpreter(tmp_path):
    launch = Launch(python='/py', tools_dir=TOOLS)
    argv, _ = launch.train(Path('c.py'), tmp_path, True, ['a=1'])
    assert argv == ['/py', str(TOOLS / 'train.py'), 'c.py', '--work-dir',
                    str(tmp_path), '--resume', '--cfg-options', 'a=1']
    argv, _ = launch.test(Path('c.py'), 'ck.pth', tmp_path / 't',
                          tmp_path / 'm.json')
    assert argv == ['/py', str(TOOLS / 'test.py'), 'c.py', 'ck.pth',
                    '--work-dir', str(tmp_path / 't'), '--metrics-json',
                    str(tmp_path / 'm.json')]


def test_pytorch_launcher_goes_through_dist_scripts(tmp_path):
    log = tmp_path / 'calls'
    python = _recorder(tmp_path / 'python', log)
    launch = Launch(launcher='pytorch', gpus=8, python=str(python),
                    tools_dir=TOOLS)
    argv, env = launch.train(Path('c.py'), tmp_path / 'w', True, ['a=1'])
    assert argv[:4] == ['bash', str(TOOLS / 'dist_train.sh'), 'c.py', '8']
    (call,) = _run(argv, env, log)
    assert call[:2] == ['-m', 'torch.distributed.run']
    assert '--nproc_per_node=8' in call
    tool = call.index(str(TOOLS / 'train.py'))
    assert call[tool + 1:] == ['c.py', '--work-dir', str(tmp_path / 'w'),
                               '--resume', '--cfg-options', 'a=1',
                               '--launcher', 'pytorch']
    argv, env = launch.test(Path('c.py'), 'ck.pth', tmp_path / 't',
                            tmp_path / 'm.json', ['a=1'])
    call = _run(argv, env, log)[1]
    assert '--nproc_per_node=8' in call
    tool = call.index(str(TOOLS / 'test.py'))
    assert call[tool + 1:] == ['c.py', 'ck.pth', '--work-dir',
                               str(tmp_path / 't'), '--metrics-json',
                               str(tmp_path / 'm.json'), '--cfg-options',
                               'a=1', '--launcher', 'pytorch']


def test_slurm_launcher_goes_through_slurm_scripts(tmp_path, monkeypatch):
    log = tmp_path / 'calls'
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    _recorder(bin_dir / 'srun', log)
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    launch = Launch(launcher='slurm', gpus=16, partition='gpu',
                    job_name='ablate-x', python='/py', tools_dir=TOOLS)
    argv, env = launch.train(Path('c.py'), tmp_path / 'w', False)
    (call,) = _run(argv, env, log)
    assert call[:2] == ['-p', 'gpu']
    assert '--job-name=ablate-x' in call and '--ntasks=16' in call
    tool = call.index(str(TOOLS / 'train.py'))
    assert call[tool - 2:tool] == ['/py', '-u']
    assert call[tool + 1:] == ['c.py', f'--work-dir={tmp_path / "w"}',
                               '--launcher=slurm']
    argv, env = launch.test(Path('c.py'), 'ck.pth', tmp_path / 't',
                            tmp_path / 'm.json')
    call = _run(argv, env, log)[1]
    tool = call.index(str(TOOLS / 'test.py'))
    assert call[tool + 1:] == ['c.py', 'ck.pth', '--work-dir',
                               str(tmp_path / 't'), '--metrics-json',
                               str(tmp_path / 'm.json'), '--launcher=slurm']


@pytest.mark.parametrize('kwargs, word', [
    (dict(launcher='mpi'), 'launcher'),
    (dict(gpus=0), 'gpus'),
    (dict(launcher='slurm'), 'partition'),
    (dict(threads=0), 'threads'),
])
def test_bad_launch_settings_raise(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Launch(**kwargs)


def test_tools_wait_passively_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    _, env = Launch().train(Path('c.py'), Path('w'), False)
    assert env['OMP_WAIT_POLICY'] == 'PASSIVE'
    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')
    _, env = Launch().test(Path('c.py'), 'ck', Path('w'), Path('m.json'))
    assert env['OMP_WAIT_POLICY'] == 'ACTIVE'


def test_threads_set_openmp_threads_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    _, env = Launch().train(Path('c.py'), Path('w'), False)
    assert 'OMP_NUM_THREADS' not in env
    _, env = Launch(threads=1).train(Path('c.py'), Path('w'), False)
    assert env['OMP_NUM_THREADS'] == '1'
    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    _, env = Launch(threads=1).test(Path('c.py'), 'ck', Path('w'),
                                    Path('m.json'))
    assert env['OMP_NUM_THREADS'] == '3'
