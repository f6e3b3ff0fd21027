"""One run of a grid: train a variant with one seed, then test it.

Each run owns a work directory; what is in it decides what is left to do, so
an interrupted grid picks up where it stopped:

- ``result.json`` with status ``ok``: finished, not run again;
- ``train.done``: training finished (it names the checkpoint), only the test
  is left;
- MMEngine's ``last_checkpoint``: training was interrupted, it resumes from
  there (``tools/train.py --resume``);
- nothing: a fresh start.

A failed step leaves ``result.json`` with status ``failed`` and the path of
its log; the next grid run tries the run again (resuming if it can).
"""
import json
import os
import shlex
import subprocess
import threading
import time
import traceback
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .grid import Variant
from .launch import Launch
from .metrics import coco_metrics, training_speed_memory
from .records import FAILED, OK, Record

RESULT = 'result.json'
TRAIN_DONE = 'train.done'
TRAIN_LOG = 'train.log'
TEST_LOG = 'test.log'
METRICS = 'metrics.json'
TEST_DIR = 'test'

_live = set()
_live_lock = threading.Lock()


def terminate_all() -> None:
    """Terminates every command :func:`execute` is waiting for, in any
    thread (runs going at once when the grid is stopped)."""
    with _live_lock:
        for proc in _live:
            proc.terminate()


def finished(run_dir: Path) -> Optional[Record]:
    """The run's record if it finished successfully, else None."""
    path = Path(run_dir) / RESULT
    if path.is_file():
        record = Record.load(path)
        if record.ok:
            return record
    return None


def execute(argv: Sequence[str], env, log_path: Path) -> Tuple[int, float]:
    """Runs a command with its output appended to ``log_path``.

    Returns its exit code and the peak resident memory in MB of the process
    (and of the children it waited for). The command is terminated if this
    process is interrupted while waiting.
    """
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


def last_checkpoint(work_dir: Path) -> Optional[str]:
    """The checkpoint MMEngine saved last in ``work_dir``, if any."""
    path = Path(work_dir) / 'last_checkpoint'
    if not path.is_file():
        return None
    checkpoint = path.read_text().strip()
    return checkpoint if checkpoint and Path(checkpoint).is_file() else None


def trained_checkpoint(run_dir: Path) -> Optional[str]:
    """The final checkpoint of a run whose training finished, else None."""
    path = Path(run_dir) / TRAIN_DONE
    if not path.is_file():
        return None
    return json.loads(path.read_text())['checkpoint']


def _failure(variant: Variant, seed: int, run_dir: Path, log: Path,
             seconds: float) -> Record:
    record = Record(variant=variant.name, seed=seed, status=FAILED,
                    wall_s=seconds, log=str(log))
    record.save(run_dir / RESULT)
    return record


def run_one(variant: Variant, seed: int, run_dir: Path, launch: Launch,
            cfg_options: Sequence[str] = (),
            train_config: Optional[Path] = None) -> Record:
    """Trains and tests ``variant`` with ``seed`` in ``run_dir``, continuing
    whatever an earlier attempt left (see the module docstring).

    ``cfg_options`` (``key=value`` strings) go to both tools;
    ``randomness.seed`` is added for training. ``train_config`` replaces the
    variant's config for training only (e.g. the variant's plus a hook).
    """
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    done = finished(run_dir)
    if done is not None:
        return done
    start = time.monotonic()
    options: List[str] = list(cfg_options)
    done_file = run_dir / TRAIN_DONE
    if done_file.is_file():
        train_info = json.loads(done_file.read_text())
    else:
        resume = last_checkpoint(run_dir) is not None
        argv, env = launch.train(train_config or variant.config, run_dir,
                                 resume, options + [f'randomness.seed={seed}'])
        code, rss_mb = execute(argv, env, run_dir / TRAIN_LOG)
        checkpoint = last_checkpoint(run_dir)
        if code != 0 or checkpoint is None:
            return _failure(variant, seed, run_dir, run_dir / TRAIN_LOG,
                            time.monotonic() - start)
        train_info = dict(checkpoint=checkpoint, peak_rss_mb=rss_mb,
                          seconds=time.monotonic() - start)
        done_file.write_text(json.dumps(train_info, indent=2))
    test_start = time.monotonic()
    metrics_json = run_dir / METRICS
    argv, env = launch.test(variant.config, train_info['checkpoint'],
                            run_dir / TEST_DIR, metrics_json, options)
    code, _ = execute(argv, env, run_dir / TEST_LOG)
    if code != 0:
        return _failure(variant, seed, run_dir, run_dir / TEST_LOG,
                        time.monotonic() - start)
    try:
        metrics = coco_metrics(metrics_json, run_dir / TEST_DIR)
    except (OSError, KeyError, ValueError):
        with open(run_dir / TEST_LOG, 'a') as log:
            log.write(traceback.format_exc())
        return _failure(variant, seed, run_dir, run_dir / TEST_LOG,
                        time.monotonic() - start)
    s_per_iter, gpu_mb = training_speed_memory(run_dir)
    if gpu_mb is not None:
        memory, source = gpu_mb, 'gpu'
    else:
        memory, source = train_info.get('peak_rss_mb'), 'rss'
    wall = train_info.get('seconds', 0.0) + time.monotonic() - test_start
    record = Record(variant=variant.name, seed=seed, status=OK,
                    s_per_iter=s_per_iter, peak_mem_mb=memory,
                    mem_source=source, wall_s=wall,
                    log=str(run_dir / TRAIN_LOG), **metrics)
    record.save(run_dir / RESULT)
    return record
