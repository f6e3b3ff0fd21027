"""tools/benchmark.py's measurement with stand-in sides and a fake clock:
the rotating order, best and median times, ratios and target checks."""
import importlib.util
from pathlib import Path

import torch

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'benchmark.py'


def _load():
    spec = importlib.util.spec_from_file_location('benchmark_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sides_rotate_and_ratios_come_from_best_times(monkeypatch):
    bench = _load()
    clock, calls = [0.0], []
    monkeypatch.setattr(bench.time, 'perf_counter', lambda: clock[0])

    def side(name, seconds):
        def run():
            calls.append(name)
            # each side's second call is twice as slow: the best and the
            # median of three ignore it
            clock[0] += seconds * (2 if calls.count(name) == 2 else 1)
        return run

    case = bench.Case(name='c', setting='s', ours=side('ours', 1.0),
                      reference=side('reference', 5.0),
                      plain=side('plain', 2.0),
                      targets={'min_speedup': 4, 'max_vs_plain': 0.4})
    row = bench.measure(case, torch.device('cpu'), rounds=3, warmup=0)
    # the first call of ours alone, then three rounds in rotating order
    assert calls == ['ours',
                     'ours', 'reference', 'plain',
                     'reference', 'plain', 'ours',
                     'plain', 'ours', 'reference']
    assert row['first_call_ours'] == 1.0
    assert (row['ours_best'], row['reference_best'], row['plain_best']) == (
        1.0, 5.0, 2.0)
    assert row['reference_median'] == 5.0
    bench.add_ratios(row, case, 'best')
    assert row['speedup_vs_reference'] == 5.0
    assert row['ours_vs_plain'] == 0.5
    assert row['reference_vs_plain'] == 2.5
    assert row['checks'] == [
        dict(target='ours/plain <= 0.4', passed=False),
        dict(target='mmdet/ours >= 4', passed=True)]
