"""Running a grid: every variant with every seed, one after another or
``jobs`` at a time, with progress lines and the report rewritten after each
run; optionally with the gradient-density diagnostics
(:mod:`.gradient_density`).

Each run owns a work directory, ``<grid dir>/<variant>/seed<k>``; what is
in it decides what is left to do, so an interrupted grid picks up where it
stopped:

- ``result.json`` with status ``ok``: finished, not run again (with
  ``--gradient-density``, only its analysis if that is missing);
- ``train.done``: training finished (it names the checkpoint), only the test
  is left;
- MMEngine's ``last_checkpoint``: training was interrupted, it resumes from
  there (``tools/train.py --resume``);
- nothing: a fresh start.

A failed step leaves ``result.json`` with status ``failed``, the step and
its log; the next grid run tries the run again (resuming if it can).

A run with nothing done yet can be reused instead of trained: when another
grid (``reuse``) holds a finished run of the same experiment, the config
the tools would train once the overrides are applied, with the same seed
(:func:`run_key`), its record is copied with ``reused_from`` naming its
directory.
"""
import dataclasses
import hashlib
import json
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from ..utils.settings import check_int
from .gradient_density import GradientDensity, analyze_run, training_config
from .gradient_density import outcome as density_outcome
from .grid import Grid, Variant
from .launch import Launch, execute, terminate_all
from .metrics import coco_metrics, training_speed_memory
from .overrides import data_root_options, merge_cli, resolved_config, to_cli
from .progress import Progress
from .records import FAILED, OK, Record
from .report import write_report

RESULT = 'result.json'
TRAIN_DONE = 'train.done'
TRAIN_LOG = 'train.log'
TEST_LOG = 'test.log'
METRICS = 'metrics.json'
TEST_DIR = 'test'


def run_dir_of(grid_dir: Path, variant: Variant, seed: int) -> Path:
    return Path(grid_dir) / variant.name / f'seed{seed}'


def finished(run_dir: Path) -> Optional[Record]:
    """The run's record if it finished successfully, else None."""
    path = Path(run_dir) / RESULT
    if path.is_file():
        record = Record.load(path)
        if record.ok:
            return record
    return None


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


def overrides(grid: Grid, variant: Variant, cfg_options: Sequence[str] = (),
              data_root: Optional[str] = None) -> List[str]:
    """The ``key=value`` overrides of one variant for both tools, in the
    order grid, variant (its axis values included), ``--data-root``,
    command line; later ones win."""
    own = to_cli(grid.cfg_options, variant.cfg_options)
    options = merge_cli(own, cfg_options)
    if data_root is None:
        return options
    moved = data_root_options(resolved_config(variant.config, options),
                              data_root)
    return merge_cli(own, to_cli(moved), cfg_options)


def plan(grid: Grid, cfg_options: Sequence[str] = (),
         data_root: Optional[str] = None, seeds: int = 1,
         only: Optional[Sequence[str]] = None) -> Iterator[dict]:
    """What :func:`run_grid` would run, one dict per variant, without
    running anything: name, label, config, overrides, baseline, axis
    values, seeds and published metrics with their source."""
    _check_only(grid, only)
    for variant in grid.variants:
        if only and variant.name not in only:
            continue
        published = variant.published
        yield dict(
            name=variant.name, label=variant.label,
            config=str(variant.config),
            overrides=overrides(grid, variant, cfg_options, data_root),
            baseline=variant.baseline, values=variant.values,
            seeds=list(range(seeds)),
            published=None if published is None else dict(
                source=grid.sources[published.source].cite
                if published.source in grid.sources else published.source,
                **published.metrics))


def _canonical(value) -> str:
    """``repr`` of a config value with the keys of every dict sorted and
    numbers by value (``2`` and ``2.0`` are one)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, dict):
        items = ', '.join(f'{k!r}: {_canonical(v)}'
                          for k, v in sorted(value.items()))
        return '{' + items + '}'
    if isinstance(value, (list, tuple)):
        inner = ', '.join(_canonical(v) for v in value)
        return f'{type(value).__name__}({inner})'
    return repr(value)


def run_key(variant: Variant, options: Sequence[str], seed: int) -> str:
    """What makes two runs the same experiment: the config the tools train
    (``variant.config`` with the ``key=value`` ``options`` applied, whatever
    the order of its keys) and the seed, hashed."""
    config = resolved_config(variant.config, options).to_dict()
    text = f'{_canonical(config)}\nseed={seed}'
    return hashlib.sha256(text.encode()).hexdigest()


def reusable_runs(sources: Sequence[Tuple[Grid, Path]], seeds: int,
                  cfg_options: Sequence[str] = (),
                  data_root: Optional[str] = None) -> Dict[str, Path]:
    """:func:`run_key` -> run directory of every finished run (seeds
    0..seeds-1) of each ``(grid, grid directory)`` of ``sources``, with
    this invocation's ``cfg_options`` and ``data_root`` applied to them as
    to the grid that reuses them."""
    found = {}
    for grid, grid_dir in sources:
        for variant in grid.variants:
            done = [s for s in range(seeds)
                    if finished(run_dir_of(grid_dir, variant, s))]
            if not done:
                continue
            options = overrides(grid, variant, cfg_options, data_root)
            for seed in done:
                found.setdefault(run_key(variant, options, seed),
                                 run_dir_of(grid_dir, variant, seed).resolve())
    return found


def reuse_run(source: Path, variant: Variant, run_dir: Path) -> Record:
    """Copies the finished record in ``source`` into ``run_dir`` as the
    record of ``variant`` there, with ``reused_from`` naming ``source``."""
    record = dataclasses.replace(finished(source), variant=variant.name,
                                 reused_from=str(source))
    run_dir.mkdir(parents=True, exist_ok=True)
    record.save(run_dir / RESULT)
    return record


def check_runs(seeds: int, jobs: int, launcher: str = 'none',
               reuse: bool = False, gradient_density: bool = False) -> None:
    """The one check of how many runs a grid makes (``seeds`` per variant),
    how many go at once (``jobs``, which ``launcher`` must allow: each
    pytorch run takes all the GPUs) and where they come from (``reuse``
    copies other grids' runs, which a ``gradient_density`` run is not).

    Raises:
        ValueError: the message starts with the argument's name.
    """
    check_int(seeds, 'seeds')
    check_int(jobs, 'jobs')
    if jobs > 1 and launcher == 'pytorch':
        raise ValueError('jobs: runs going at once need the launcher none or '
                         'slurm; with pytorch each run takes all the GPUs, '
                         f'got jobs={jobs}')
    if reuse and gradient_density:
        raise ValueError('reuse: runs trained with the gradient-density hook '
                         'are not the same experiment as another grid\'s; '
                         'drop one of the two')


def _check_only(grid: Grid, only: Optional[Sequence[str]]) -> None:
    names = [v.name for v in grid.variants]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f'only: unknown variants {unknown}; the grid has '
                         f'{names}')


def _failure(variant: Variant, seed: int, run_dir: Path, step: str,
             log: Path, seconds: float) -> Record:
    record = Record(variant=variant.name, seed=seed, status=FAILED,
                    failed_step=step, wall_s=seconds, log=str(log))
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
        code, rss_mb = execute(launch.train(
            train_config or variant.config, run_dir, resume,
            options + [f'randomness.seed={seed}']), run_dir / TRAIN_LOG)
        checkpoint = last_checkpoint(run_dir)
        if code != 0 or checkpoint is None:
            return _failure(variant, seed, run_dir, 'train',
                            run_dir / TRAIN_LOG, time.monotonic() - start)
        train_info = dict(checkpoint=checkpoint, peak_rss_mb=rss_mb,
                          seconds=time.monotonic() - start)
        done_file.write_text(json.dumps(train_info, indent=2))
    test_start = time.monotonic()
    metrics_json = run_dir / METRICS
    code, _ = execute(launch.test(variant.config, train_info['checkpoint'],
                                  run_dir / TEST_DIR, metrics_json, options),
                      run_dir / TEST_LOG)
    try:
        if code != 0:
            raise RuntimeError(f'tools/test.py exit status {code}')
        metrics = coco_metrics(metrics_json, run_dir / TEST_DIR)
    except (OSError, KeyError, ValueError, RuntimeError):
        with open(run_dir / TEST_LOG, 'a') as log:
            log.write(traceback.format_exc())
        return _failure(variant, seed, run_dir, 'test', run_dir / TEST_LOG,
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


def run_grid(grid: Grid, grid_dir: Path, seeds: int = 1,
             launch: Optional[Launch] = None,
             cfg_options: Sequence[str] = (),
             data_root: Optional[str] = None,
             only: Optional[Sequence[str]] = None,
             stream: Optional[TextIO] = None,
             gradient_density: Optional[GradientDensity] = None,
             jobs: int = 1,
             reuse: Sequence[Tuple[Grid, Path]] = ()) -> List[Record]:
    """Trains and tests each variant of ``grid`` with seeds 0..seeds-1 in
    ``grid_dir/<variant>/seed<k>``, skipping finished runs and resuming
    interrupted ones; a failed run is recorded and the others still run.

    ``cfg_options`` (``key=value`` strings, applied after the grid's and the
    variant's own) and ``data_root`` pass through to both tools. ``only``
    restricts the runs to those variants; the report still shows the other
    variants' finished runs found on disk.

    ``gradient_density`` trains each run with ``GradientDensityHook`` and
    analyses its final checkpoint with ``tools/analyze_gradient_density.py``
    (a finished run without the analysis gets only the analysis); a progress
    line under each run says where its plots are or why it was skipped.

    ``jobs`` runs go at once (each run's tools are separate processes); on an
    interruption the running tools are terminated and resume next time.

    ``reuse`` holds ``(grid, grid directory)`` pairs of other grids: a run
    not started yet whose experiment one of them has finished
    (:func:`reusable_runs`) copies that record instead of training. Not
    with ``gradient_density``, whose training differs.

    Returns the records, one per run in grid order, after writing the report.
    """
    launch = launch or Launch()
    check_runs(seeds, jobs, launch.launcher, bool(reuse),
               gradient_density is not None)
    _check_only(grid, only)
    grid_dir = Path(grid_dir)
    reusable = reusable_runs(reuse, seeds, cfg_options, data_root)
    runs = [(v, s) for v in grid.variants for s in range(seeds)
            if not only or v.name in only]
    others = [finished(run_dir_of(grid_dir, v, s))
              for v in grid.variants for s in range(seeds)
              if only and v.name not in only]
    others = [r for r in others if r is not None]
    progress = Progress(len(runs), stream=stream, jobs=jobs)
    records = {}
    report_lock = threading.Lock()

    def finish(index, record):
        with report_lock:
            records[index] = record
            write_report(grid, others + [records[i] for i in sorted(records)],
                         grid_dir)

    def start(index, variant, seed):
        """Prints the run's start line; returns the rest of the run."""
        options = overrides(grid, variant, cfg_options, data_root)
        progress.start(f'{variant.name} seed {seed}')
        return lambda: finish(index, _train_and_test(
            variant, seed, grid_dir, launch, options, gradient_density,
            progress))

    # One at a time, runs go in grid order. With jobs > 1, finished runs are
    # reported first, in grid order; the others share the slots, started in
    # grid order.
    todo = []
    for index, (variant, seed) in enumerate(runs):
        record = _done(variant, seed, grid_dir, gradient_density, progress)
        if record is None and reusable:
            record = _reused(grid, variant, seed, grid_dir, cfg_options,
                             data_root, reusable, progress)
        if record is not None:
            finish(index, record)
        elif jobs == 1:
            start(index, variant, seed)()
        else:
            todo.append((index, variant, seed))
    _run_parallel(start, todo, jobs)
    if not records:
        write_report(grid, others, grid_dir)
    return [records[i] for i in sorted(records)]


def _run_parallel(start, todo, jobs: int) -> None:
    """For each ``(index, variant, seed)`` of ``todo`` in order, calls
    ``start(index, variant, seed)`` here and the function it returns in a
    thread, ``jobs`` at once; the first error (or an interruption)
    terminates the running tools and starts no further run."""
    queue = iter(todo)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        running = set()
        try:
            while True:
                for run in queue:
                    running.add(pool.submit(start(*run)))
                    if len(running) == jobs:
                        break
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
        except BaseException:
            terminate_all()
            raise


def _note_density(progress: Progress, what: str, record: Record) -> None:
    if record.density:
        progress.note(f'{what} gradient density: '
                      f'{record.density_outcome()}')


def _done(variant, seed, grid_dir, gradient_density, progress
          ) -> Optional[Record]:
    """The run's record, with its skip line, if nothing is left to do."""
    run_dir = run_dir_of(grid_dir, variant, seed)
    record = finished(run_dir)
    if record is None or (gradient_density is not None
                          and density_outcome(run_dir) is None):
        return None
    what = f'{variant.name} seed {seed}'
    progress.skip(what, record.outcome())
    if gradient_density is not None:
        _note_density(progress, what, record)
    return record


def _reused(grid, variant, seed, grid_dir, cfg_options, data_root,
            reusable, progress) -> Optional[Record]:
    """The record copied from another grid's identical run, with its line,
    if there is one and this run has not started."""
    run_dir = run_dir_of(grid_dir, variant, seed)
    if run_dir.exists() and any(run_dir.iterdir()):
        return None
    options = overrides(grid, variant, cfg_options, data_root)
    source = reusable.get(run_key(variant, options, seed))
    if source is None:
        return None
    record = reuse_run(source, variant, run_dir)
    progress.reuse(f'{variant.name} seed {seed}', record.outcome(), source)
    return record


def _train_and_test(variant, seed, grid_dir, launch, options,
                    gradient_density, progress) -> Record:
    """One started run, up to its end line."""
    what = f'{variant.name} seed {seed}'
    run_dir = run_dir_of(grid_dir, variant, seed).resolve()
    train_config = None
    if gradient_density is not None:
        train_config = training_config(variant.config, run_dir,
                                       gradient_density.interval)
    record = run_one(variant, seed, run_dir, launch, options, train_config)
    if gradient_density is not None and record.ok:
        record = analyze_run(record, variant.config,
                             trained_checkpoint(run_dir), run_dir, launch,
                             gradient_density, options)
        record.save(run_dir / RESULT)
    progress.end(what, record.outcome())
    if gradient_density is not None:
        _note_density(progress, what, record)
    return record
