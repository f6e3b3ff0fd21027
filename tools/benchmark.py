#!/usr/bin/env python
"""Side-by-side speed of the plugin's components against mmdet 3.3.0's.

Each suite in ``tools/benchmarks/<suite>.py`` defines ``cases(device)``
returning :class:`Case` objects. For every case the three sides (ours, mmdet's
reference, the plain loss) are run alternately, round after round, in an
order that rotates each round, so that machine noise hits them alike; the
table gives the median and best time of each and the ratios computed from
the best times (``--stat median`` to use medians). The first call of ours
(compilation included) is reported apart.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import torch

SUITES_DIR = Path(__file__).resolve().parent / 'benchmarks'


@dataclass
class Case:
    """One benchmark row.

    ``ours``, ``reference`` and ``plain`` each run one full step (forward and
    backward for a loss) on inputs prepared beforehand. ``targets`` states the
    acceptance bounds: ``max_vs_plain`` (ours / plain) and ``min_speedup``
    (reference / ours); each is checked and printed as PASS or FAIL.
    """
    name: str
    setting: str
    ours: Callable[[], object]
    reference: Optional[Callable[[], object]] = None
    plain: Optional[Callable[[], object]] = None
    plain_name: str = ''
    targets: dict = field(default_factory=dict)


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
    row = dict(name=case.name, setting=case.setting, plain_name=case.plain_name,
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
    print(f'\ntimes in ms ({stat} over rounds); ratios from {stat} times\n')
    head = (f'| {"component":<28} | {"setting":<42} | {"ours":>9} | '
            f'{"mmdet":>9} | {"plain":>9} | {"ours/plain":>10} | '
            f'{"mmdet/plain":>11} | {"mmdet/ours":>10} | {"1st call":>9} | '
            'targets |')
    print(head)
    print('|' + '|'.join('-' * (len(c)) for c in head.split('|')[1:-1]) + '|')
    for r in rows:
        checks = ', '.join(f'{c["target"]}: {"PASS" if c["passed"] else "FAIL"}'
                           for c in r['checks']) or '-'
        plain = (f'{r["plain_name"]} ' if r['plain_name'] else '')
        print(f'| {r["name"]:<28} | {r["setting"]:<42} | '
              f'{_ms(r.get(f"ours_{stat}"))} | '
              f'{_ms(r.get(f"reference_{stat}"))} | '
              f'{_ms(r.get(f"plain_{stat}"))} | '
              f'{_x(r.get("ours_vs_plain")):>10} | '
              f'{_x(r.get("reference_vs_plain")):>11} | '
              f'{_x(r.get("speedup_vs_reference")):>10} | '
              f'{_ms(r["first_call_ours"])} | {plain and "plain=" + plain}{checks} |')


def available_suites():
    return sorted(m.name for m in pkgutil.iter_modules([str(SUITES_DIR)])
                  if not m.name.startswith('_'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--suite', nargs='*', default=None,
                        help=f'suites to run (default all): {available_suites()}')
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
    sys.path.insert(0, str(SUITES_DIR.parent))
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
