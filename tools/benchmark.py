#!/usr/bin/env python
"""Side-by-side speed of the plugin's components against mmdet 3.3.0's.

Each suite in ``tools/benchmarks/<suite>.py`` defines ``cases(device)``
returning :class:`Case` objects. For every case the three sides (ours, mmdet's
reference, the plain loss) are run alternately, round after round, in an
order that rotates each round, so that machine noise hits them alike. The
table gives one time per side, the best over the rounds (``--stat median``:
the median), the ratios of those times, the first call of ours (compilation
included) and each target with PASS or FAIL. ``--json`` also writes every
side's median and best. The exit status is 1 when a target is missed.

    python tools/benchmark.py                       # every suite, CPU
    python tools/benchmark.py --suite losses --rounds 15 --json out.json
"""
import argparse
import importlib
import json
import pkgutil
import statistics
import sys
import time
from pathlib import Path

import torch

SUITES_DIR = Path(__file__).resolve().parent / 'benchmarks'
sys.path.insert(0, str(SUITES_DIR.parent))

from benchmarks import Case  # noqa: E402,F401  (re-exported)


def _timed(fn, device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def measure(case, device, rounds, warmup):
    """Returns a dict of timings (seconds) and ratios for one case."""
    sides = {'ours': case.ours, 'reference': case.reference,
             'plain': case.plain}
    sides = {k: v for k, v in sides.items() if v is not None}
    first_call = _timed(case.ours, device)
    for _ in range(warmup):
        for fn in sides.values():
            fn()
    times = {k: [] for k in sides}
    keys = list(sides)
    for r in range(rounds):
        # A rotating order: no side always runs right after the same one
        # (large allocations make a step's time depend on what ran before).
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:
            times[key].append(_timed(sides[key], device))
    row = dict(name=case.name, setting=case.setting,
               plain_name=case.plain_name,
               first_call_ours=first_call)
    for key, ts in times.items():
        row[f'{key}_median'] = statistics.median(ts)
        row[f'{key}_best'] = min(ts)
    return row


def add_ratios(row, case, stat):
    ours = row[f'ours_{stat}']
    checks = []
    if 'plain_' + stat in row:
        row['ours_vs_plain'] = ours / row[f'plain_{stat}']
        if 'max_vs_plain' in case.targets:
            bound = case.targets['max_vs_plain']
            checks.append((f'ours/plain <= {bound}',
                           row['ours_vs_plain'] <= bound))
    if 'reference_' + stat in row:
        row['reference_vs_plain'] = (row[f'reference_{stat}'] /
                                     row[f'plain_{stat}']
                                     if 'plain_' + stat in row else None)
        row['speedup_vs_reference'] = row[f'reference_{stat}'] / ours
        if 'min_speedup' in case.targets:
            bound = case.targets['min_speedup']
            checks.append((f'mmdet/ours >= {bound}',
                           row['speedup_vs_reference'] >= bound))
    row['checks'] = [dict(target=t, passed=bool(p)) for t, p in checks]
    return row


def _ms(value):
    return '-' if value is None else f'{value * 1e3:9.2f}'


def _x(value):
    return '-' if value is None else f'{value:6.2f}x'


def print_table(rows, stat):
    """Prints one Markdown row per case: each side's time in ms (``stat``
    over the rounds), the ratios of those times, what the plain side is, the
    first call of ours in seconds (compilation included) and the
    targets."""
    columns = [  # header, width, cell; numbers right-aligned
        ('component', -28, lambda r: r['name']),
        ('setting', -42, lambda r: r['setting']),
        ('ours', 9, lambda r: _ms(r.get(f'ours_{stat}'))),
        ('mmdet', 9, lambda r: _ms(r.get(f'reference_{stat}'))),
        ('plain', 9, lambda r: _ms(r.get(f'plain_{stat}'))),
        ('ours/plain', 10, lambda r: _x(r.get('ours_vs_plain'))),
        ('mmdet/plain', 11, lambda r: _x(r.get('reference_vs_plain'))),
        ('mmdet/ours', 10, lambda r: _x(r.get('speedup_vs_reference'))),
        ('plain is', -24, lambda r: r['plain_name'] or '-'),
        ('1st call s', 10, lambda r: f'{r["first_call_ours"]:.1f}'),
        ('targets', -7, lambda r: ', '.join(
            f'{c["target"]}: {"PASS" if c["passed"] else "FAIL"}'
            for c in r['checks']) or '-'),
    ]

    def line(cells):
        return '| ' + ' | '.join(
            f'{cell.strip():<{-width}}' if width < 0 else
            f'{cell.strip():>{width}}'
            for (_, width, _), cell in zip(columns, cells)) + ' |'

    print(f'\ntimes in ms, the {stat} of each side over the rounds; '
          'ratios of those times\n')
    print(line([header for header, _, _ in columns]))
    print('|' + '|'.join('-' * (-width + 2) if width < 0 else
                         '-' * (width + 1) + ':'
                         for _, width, _ in columns) + '|')
    for r in rows:
        print(line([cell(r) for _, _, cell in columns]))


def available_suites():
    return sorted(m.name for m in pkgutil.iter_modules([str(SUITES_DIR)])
                  if not m.name.startswith('_'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--suite', nargs='*', default=None,
                        help='suites to run (default all): '
                        f'{available_suites()}')
    parser.add_argument('--case', default=None,
                        help='run only cases whose name contains this text')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--stat', choices=['best', 'median'], default='best')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: torch default)')
    parser.add_argument('--json', default=None, help='also write rows here')
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = []
    for suite in args.suite or available_suites():
        if suite not in available_suites():
            parser.error(f'--suite {suite!r} unknown; choose from '
                         f'{available_suites()}')
        module = importlib.import_module(f'benchmarks.{suite}')
        for case in module.cases(device):
            if args.case and args.case not in case.name:
                continue
            print(f'running {suite}: {case.name} ({case.setting}) ...',
                  flush=True)
            row = measure(case, device, args.rounds, args.warmup)
            rows.append(add_ratios(row, case, args.stat))
    print_table(rows, args.stat)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
        print(f'\nwrote {args.json}')
    failed = [r['name'] for r in rows for c in r['checks'] if not c['passed']]
    if failed:
        print(f'\ntargets missed: {", ".join(sorted(set(failed)))}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
