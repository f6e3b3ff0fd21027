#!/usr/bin/env python
"""Run an ablation grid: train and test every variant with the stock tools,
then write results.csv, results.md and results.png into the grid directory.

    python tools/ablate.py retinanet-toy --seeds 1 --jobs 2
    python tools/ablate.py focal-gamma --plan      # the cells, as JSON lines
    python tools/ablate.py focal-gamma --launcher slurm --partition gpu \
        --gpus 8 --seeds 2 --data-root /data/coco
    python tools/ablate.py retinanet-coco --launcher pytorch --gpus 8 \
        --data-root /data/coco
    python tools/ablate.py faster-rcnn-coco --launcher slurm --gpus 8 \
        --partition gpu
    python tools/ablate.py path/to/my_grid.py
    python tools/ablate.py --list
    python tools/ablate.py retinanet-toy --gradient-density 50
    python tools/ablate.py pisa-detectors-toy --reuse pisa-methods-toy

Re-running the same command skips finished runs and resumes interrupted ones
from their last checkpoint.
"""
import argparse
import json
import os
import re
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imbalance_plugin.ablation.gradient_density import GradientDensity  # noqa: E402
from imbalance_plugin.ablation.grid import available_grids, load_grid  # noqa: E402
from imbalance_plugin.ablation.launch import LAUNCHERS, Launch  # noqa: E402
from imbalance_plugin.ablation.records import FAILED  # noqa: E402
from imbalance_plugin.ablation.report import CSV, MARKDOWN, PLOT  # noqa: E402
from imbalance_plugin.ablation.run import check_runs, plan, run_grid  # noqa: E402

#: The flag of each argument that check_runs and GradientDensity check.
_FLAGS = {'seeds': '--seeds', 'jobs': '--jobs', 'reuse': '--reuse',
          'interval': '--gradient-density',
          'num_images': '--gradient-density-images'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run an ablation grid through tools/train.py and '
        'tools/test.py and tabulate the results.')
    parser.add_argument('grid', nargs='?',
                        help='a built-in grid name (see --list) or the path '
                        'of a grid file')
    parser.add_argument('--list', action='store_true',
                        help='list the built-in grids and exit')
    parser.add_argument('--plan', action='store_true',
                        help='print every variant (cell) that would run, '
                        'as JSON lines (name, label, config, overrides, '
                        'published, ...), and exit without running')
    parser.add_argument('--seeds', type=int, default=1,
                        help='runs per variant, with seeds 0..N-1')
    parser.add_argument('--work-dir',
                        help='grid directory (default: work_dirs/ablation/'
                        '<grid name>)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs going at once (default 1). On CPU each '
                        'gets cores/N OpenMP threads (OMP_NUM_THREADS) '
                        'unless the variable is set; not with the pytorch '
                        'launcher')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='none: this process; pytorch: tools/dist_*.sh; '
                        'slurm: tools/slurm_*.sh')
    parser.add_argument('--gpus', type=int, default=1,
                        help='processes (GPUs) per run for the pytorch and '
                        'slurm launchers')
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument('--data-root',
                        help='dataset directory replacing the configs\' '
                        'data_root (same layout)')
    parser.add_argument('--only', nargs='+', metavar='VARIANT',
                        help='run only these variants (the table still '
                        'shows the others\' finished runs)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='overrides passed to tools/train.py and '
                        'tools/test.py for every variant')
    parser.add_argument('--reuse', nargs='+', default=[], metavar='GRID',
                        help='grids (names or files) whose finished runs '
                        'stand in for this grid\'s identical ones (same '
                        'config after the overrides, same seed) instead of '
                        'training them again; each grid\'s runs are looked '
                        'for in the directory named after it beside this '
                        'grid\'s')
    parser.add_argument('--gradient-density', type=int, metavar='INTERVAL',
                        help='train every run with GradientDensityHook '
                        'logging every INTERVAL iterations, and plot its '
                        'final checkpoint with tools/analyze_gradient_'
                        'density.py into <run dir>/gradient_density/')
    parser.add_argument('--gradient-density-images', type=int, default=8,
                        metavar='N',
                        help='training images the plot looks at (default 8)')
    args = parser.parse_args(argv)
    if not args.list and not args.grid:
        parser.error('name a grid (or --list)')
    args.density = None
    try:
        check_runs(args.seeds, args.jobs, args.launcher, bool(args.reuse),
                   args.gradient_density is not None)
        if args.gradient_density is not None:
            args.density = GradientDensity(args.gradient_density,
                                           args.gradient_density_images)
    except ValueError as error:
        name = re.match(r'\w+', str(error)).group()
        parser.error(_FLAGS[name] + str(error)[len(name):])
    return args


def _usage_error(message: str) -> int:
    print(f'ablate.py: error: {message}', file=sys.stderr)
    return 2


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        for name in available_grids():
            try:
                grid = load_grid(name)
            except ValueError as error:
                print(f'{name:24s} cannot be loaded: {error}')
                continue
            print(f'{name:24s} {len(grid.variants):3d} variants  '
                  f'{grid.title}')
        return 0
    try:
        grid = load_grid(args.grid)
        reuse = [load_grid(name) for name in args.reuse]
    except ValueError as error:
        return _usage_error(str(error))
    if any(other.name == grid.name for other in reuse):
        return _usage_error(f'--reuse: {grid.name} is the grid being run')
    if args.plan:
        for line in plan(grid, args.cfg_options, args.data_root, args.seeds,
                         args.only):
            print(json.dumps(line))
        return 0
    grid_dir = Path(args.work_dir
                    or Path('work_dirs') / 'ablation' / grid.name)
    threads = None
    if args.jobs > 1 and args.launcher == 'none':
        threads = max(1, (os.cpu_count() or 1) // args.jobs)
    launch = Launch(launcher=args.launcher, gpus=args.gpus, threads=threads,
                    partition=args.partition, job_name=f'ablate-{grid.name}',
                    python=sys.executable,
                    tools_dir=Path(__file__).resolve().parent)
    # SIGTERM (e.g. a Slurm time limit) stops the current run cleanly so the
    # next invocation resumes it.
    signal.signal(signal.SIGTERM, _terminate)
    print(f'grid {grid.name}: {len(grid.variants)} variants x {args.seeds} '
          f'seed(s) in {grid_dir}, {args.jobs} at a time', flush=True)
    records = run_grid(grid, grid_dir, seeds=args.seeds, launch=launch,
                       cfg_options=args.cfg_options,
                       data_root=args.data_root, only=args.only,
                       gradient_density=args.density, jobs=args.jobs,
                       reuse=[(other, grid_dir.parent / other.name)
                              for other in reuse])
    print()
    print((grid_dir / MARKDOWN).read_text())
    print(f'results: {grid_dir / CSV}, {grid_dir / MARKDOWN}, '
          f'{grid_dir / PLOT}')
    ok = all(r.ok and r.density != FAILED for r in records)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
