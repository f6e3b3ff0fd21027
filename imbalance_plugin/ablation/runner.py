"""Running a whole grid: every variant with every seed, one after another
or ``jobs`` at a time, with progress lines, and the report rewritten after
each run; optionally with the gradient-density diagnostics
(:mod:`.gradient_density`)."""
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import List, Optional, Sequence, TextIO

from .cfg_options import merge_cli, resolved_config, to_cli
from .data_root import data_root_options
from .gradient_density import (GradientDensity, analyze_run,
                               training_config)
from .gradient_density import outcome as density_outcome
from .grid import Grid
from .launch import Launch
from .progress import Progress
from .records import Record
from .report import write_report
from .run import finished, run_one, terminate_all


def _outcome(record: Record) -> str:
    if record.ok:
        return 'AP n/a' if record.AP is None else f'AP {record.AP:.1f}'
    return f'FAILED, log: {record.log}'


def run_grid(grid: Grid, grid_dir: Path, seeds: int = 1,
             launch: Optional[Launch] = None,
             cfg_options: Sequence[str] = (),
             data_root: Optional[str] = None,
             only: Optional[Sequence[str]] = None,
             stream: Optional[TextIO] = None,
             gradient_density: Optional[GradientDensity] = None,
             jobs: int = 1) -> List[Record]:
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

    Returns the records, one per run in grid order, after writing the report.
    """
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f'seeds must be an integer >= 1, got {seeds!r}')
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f'jobs must be an integer >= 1, got {jobs!r}')
    launch = launch or Launch()
    if jobs > 1 and launch.launcher == 'pytorch':
        raise ValueError('jobs: runs going at once need the launcher none or '
                         'slurm; with pytorch each run takes all the GPUs, '
                         f'got jobs={jobs}')
    names = [v.name for v in grid.variants]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f'only: unknown variants {unknown}; the grid has '
                         f'{names}')
    grid_dir = Path(grid_dir)
    runs = [(v, s) for v in grid.variants for s in range(seeds)
            if not only or v.name in only]
    others = [finished(grid_dir / v.name / f'seed{s}')
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
        options = _start(variant, seed, grid, cfg_options, data_root,
                         progress)
        return lambda: finish(index, _train_and_test(
            variant, seed, grid_dir, launch, options, gradient_density,
            progress))

    # One at a time, runs go in grid order. With jobs > 1, finished runs are
    # reported first, in grid order; the others share the slots, started in
    # grid order.
    todo = []
    for index, (variant, seed) in enumerate(runs):
        record = _done(variant, seed, grid_dir, gradient_density, progress)
        if record is not None:
            finish(index, record)
        elif jobs == 1:
            start(index, variant, seed)()
        else:
            todo.append((index, variant, seed))
    _run_parallel(start, todo, jobs)
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


def _done(variant, seed, grid_dir, gradient_density, progress
          ) -> Optional[Record]:
    """The run's record, with its skip line, if nothing is left to do."""
    run_dir = grid_dir / variant.name / f'seed{seed}'
    record = finished(run_dir)
    if record is None or (gradient_density is not None
                          and density_outcome(run_dir) is None):
        return None
    what = f'{variant.name} seed {seed}'
    progress.skip(what, _outcome(record))
    if gradient_density is not None and record.gradient_density:
        progress.note(f'{what} gradient density: {record.gradient_density}')
    return record


def _start(variant, seed, grid, cfg_options, data_root, progress
           ) -> List[str]:
    """The run's options for both tools; prints its start line."""
    options = merge_cli(
        to_cli(grid.cfg_options, variant.cfg_options), cfg_options)
    if data_root is not None:
        moved = data_root_options(
            resolved_config(variant.config, options), data_root)
        options = merge_cli(to_cli(grid.cfg_options, variant.cfg_options),
                            to_cli(moved), cfg_options)
    progress.start(f'{variant.name} seed {seed}')
    return options


def _train_and_test(variant, seed, grid_dir, launch, options,
                    gradient_density, progress) -> Record:
    """One started run, up to its end line."""
    what = f'{variant.name} seed {seed}'
    run_dir = grid_dir / variant.name / f'seed{seed}'
    train_config = None
    if gradient_density is not None:
        train_config = training_config(variant.config, run_dir,
                                       gradient_density.interval)
    record = run_one(variant, seed, run_dir, launch, options, train_config)
    if gradient_density is not None:
        record = analyze_run(record, variant, run_dir, launch,
                             gradient_density, options)
    progress.end(what, _outcome(record))
    if gradient_density is not None and record.gradient_density:
        progress.note(f'{what} gradient density: {record.gradient_density}')
    return record
