"""Command lines of the stock tools for each launcher, and running them.

``none`` runs ``tools/train.py`` / ``tools/test.py`` with this interpreter;
``pytorch`` goes through ``tools/dist_train.sh`` / ``tools/dist_test.sh``
(torchrun, ``gpus`` processes); ``slurm`` through ``tools/slurm_train.sh`` /
``tools/slurm_test.sh`` (``srun`` on ``partition``, ``gpus`` tasks).
"""
import os
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .grid import PROJECT_ROOT

LAUNCHERS = ('none', 'pytorch', 'slurm')
#: Exit status of ``tools/analyze_gradient_density.py`` for a detector it
#: does not analyse (no dense anchor head); the reason is its last line.
UNSUPPORTED_DETECTOR = 3
Command = Tuple[List[str], Dict[str, str]]


@dataclass(frozen=True)
class Launch:
    """How to start the tools: launcher, process count, Slurm partition;
    ``threads`` sets ``OMP_NUM_THREADS`` for the tools unless it is set."""
    launcher: str = 'none'
    gpus: int = 1
    threads: Optional[int] = None
    partition: Optional[str] = None
    job_name: str = 'ablate'
    python: str = sys.executable
    tools_dir: Path = field(default=PROJECT_ROOT / 'tools')

    def __post_init__(self):
        if self.launcher not in LAUNCHERS:
            raise ValueError(f'launcher must be one of {LAUNCHERS}, got '
                             f'{self.launcher!r}')
        if not isinstance(self.gpus, int) or self.gpus < 1:
            raise ValueError(
                f'gpus must be an integer >= 1, got {self.gpus!r}')
        if self.threads is not None and (not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ValueError('threads must be None or an integer >= 1, got '
                             f'{self.threads!r}')
        if self.launcher == 'slurm' and not self.partition:
            raise ValueError('partition: the slurm launcher needs a Slurm '
                             'partition (--partition)')

    def _env(self) -> Dict[str, str]:
        env = dict(os.environ, PYTHON=self.python)
        # Spinning OpenMP threads make CPU training several times slower as
        # soon as another process shares the cores (docs/experiments.md,
        # Training speed on CPU); set the variable yourself to choose
        # otherwise.
        env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
        if self.threads is not None:
            env.setdefault('OMP_NUM_THREADS', str(self.threads))
        if self.launcher == 'slurm':
            env['GPUS'] = str(self.gpus)
        return env

    @staticmethod
    def _options(cfg_options: Sequence[str]) -> List[str]:
        return ['--cfg-options', *cfg_options] if cfg_options else []

    def train(self, config: Path, work_dir: Path, resume: bool,
              cfg_options: Sequence[str] = ()) -> Command:
        """``tools/train.py`` on ``config`` into ``work_dir``; ``resume``
        continues from the work dir's last checkpoint."""
        rest = (['--resume'] if resume else []) + self._options(cfg_options)
        tools = self.tools_dir
        if self.launcher == 'pytorch':
            argv = ['bash', str(tools / 'dist_train.sh'), str(config),
                    str(self.gpus), '--work-dir', str(work_dir), *rest]
        elif self.launcher == 'slurm':
            argv = ['bash', str(tools / 'slurm_train.sh'), self.partition,
                    self.job_name, str(config), str(work_dir), *rest]
        else:
            argv = [self.python, str(tools / 'train.py'), str(config),
                    '--work-dir', str(work_dir), *rest]
        return argv, self._env()

    def test(self, config: Path, checkpoint: str, work_dir: Path,
             metrics_json: Path, cfg_options: Sequence[str] = ()) -> Command:
        """``tools/test.py`` of ``checkpoint``, metrics to ``metrics_json``."""
        rest = ['--work-dir', str(work_dir), '--metrics-json',
                str(metrics_json), *self._options(cfg_options)]
        tools = self.tools_dir
        if self.launcher == 'pytorch':
            argv = ['bash', str(tools / 'dist_test.sh'), str(config),
                    checkpoint, str(self.gpus), *rest]
        elif self.launcher == 'slurm':
            argv = ['bash', str(tools / 'slurm_test.sh'), self.partition,
                    self.job_name, str(config), checkpoint, *rest]
        else:
            argv = [self.python, str(tools / 'test.py'), str(config),
                    checkpoint, *rest]
        return argv, self._env()

    def gradient_density(self, config: Path, checkpoint: str, out_dir: Path,
                         num_images: int,
                         cfg_options: Sequence[str] = ()) -> Command:
        """``tools/analyze_gradient_density.py`` of ``checkpoint`` over
        ``num_images`` training images, files into ``out_dir``."""
        tool = self.tools_dir / 'analyze_gradient_density.py'
        argv = [self.python, str(tool), str(config), '--checkpoint',
                checkpoint, '--num-images', str(num_images),
                '--batch-size', '2', '--out-dir', str(out_dir),
                *self._options(cfg_options)]
        return argv, self._env()


_live = set()
_live_lock = threading.Lock()


def terminate_all() -> None:
    """Terminates every command :func:`execute` is waiting for, in any
    thread (runs going at once when the grid is stopped)."""
    with _live_lock:
        for proc in _live:
            proc.terminate()


def execute(command: Command, log_path: Path) -> Tuple[int, float]:
    """Runs ``command`` (argv, environment) with its output appended to
    ``log_path``.

    Returns its exit code and the peak resident memory in MB of the process
    (and of the children it waited for). The command is terminated if this
    process is interrupted while waiting.
    """
    argv, env = command
    with open(log_path, 'a') as log:
        log.write(f'$ {shlex.join(argv)}\n')
        log.flush()
        proc = subprocess.Popen(list(argv), stdout=log,
                                stderr=subprocess.STDOUT, env=env)
        with _live_lock:
            _live.add(proc)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise
        finally:
            with _live_lock:
                _live.discard(proc)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024.0
