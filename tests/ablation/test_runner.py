"""run_grid / run_one with stand-in tools: results, failures, resumption and
progress lines."""
import io
import json
import re
import statistics

import pytest

from imbalance_plugin.ablation.records import read_csv
from imbalance_plugin.ablation.run import run_grid


def pytest_approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def _calls(run_dir):
    path = run_dir / 'calls.jsonl'
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_grid_results_csv_md_png(tmp_path, fake_launch, make_grid, row_of):
    grid = make_grid(
        ('base', {'fake.ap': 0.30, 'fake.seed_step': 0.01}),
        ('better', {'fake.ap': 0.33, 'fake.seed_step': 0.02,
                    'fake.memory': 100, 'fake.time': 0.25}),
        ('broken', {'fake.fail': 'train'}))
    out = tmp_path / 'grid'
    records = run_grid(grid, out, seeds=2, launch=fake_launch,
                       stream=io.StringIO())

    rows = read_csv(out / 'results.csv')
    assert [(r.variant, r.seed, r.status, r.failed_step) for r in rows] == [
        ('base', 0, 'ok', ''), ('base', 1, 'ok', ''), ('better', 0, 'ok', ''),
        ('better', 1, 'ok', ''), ('broken', 0, 'failed', 'train'),
        ('broken', 1, 'failed', 'train')]
    assert rows == records
    for row in rows[:4]:
        ap0, step = (0.30, 0.01) if row.variant == 'base' else (0.33, 0.02)
        ap = 100 * (ap0 + step * row.seed)
        assert row.AP == pytest_approx(ap)
        assert row.AP50 == pytest_approx(ap + 20)
        assert row.AP75 == pytest_approx(ap + 5)
        assert row.APs == pytest_approx(ap - 10)
        assert row.APm == pytest_approx(ap + 1)
        assert row.APl == pytest_approx(ap + 10)
    base, better = rows[0], rows[2]
    assert base.s_per_iter == 0.5 and better.s_per_iter == 0.25
    # no memory in the log: peak RSS of the (python) training process
    assert base.mem_source == 'rss' and base.peak_mem_mb > 5
    # logged memory 100 + iteration, 4 iterations
    assert better.mem_source == 'gpu' and better.peak_mem_mb == 104
    broken = rows[4]
    assert broken.log.endswith('broken/seed0/train.log')
    assert 'fake failure in training' in open(broken.log).read()

    md = (out / 'results.md').read_text()
    base_mean = statistics.fmean([30.0, 31.0])
    better_mean = statistics.fmean([33.0, 35.0])
    cells = row_of(md, 'BASE')
    assert (cells['Seeds'], cells['AP'], cells['ΔAP']) == (
        '2', f'{base_mean:.1f} ± {statistics.stdev([30.0, 31.0]):.1f}',
        'baseline')
    assert cells['AP50'] == (f'{base_mean + 20:.1f} ± '
                             f'{statistics.stdev([50.0, 51.0]):.1f}')
    cells = row_of(md, 'BETTER')
    assert cells['AP'] == (f'{better_mean:.1f} ± '
                           f'{statistics.stdev([33.0, 35.0]):.1f}')
    assert cells['ΔAP'] == f'{better_mean - base_mean:+.1f}'
    assert (cells['s/iter'], cells['Mem (MB)']) == ('0.250', '104')
    cells = row_of(md, 'BROKEN')
    assert (cells['Seeds'], cells['AP'], cells['AP50']) == (
        '0 (2 failed)', 'failed', '')
    assert f'broken seed 0 (train): see `{broken.log}`' in md
    assert 'Pub.' not in md
    png = (out / 'results.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'


def test_interrupted_run_resumes_and_finished_runs_are_skipped(
        tmp_path, fake_launch, make_grid):
    grid = make_grid(('base', {'fake.crash_at': 2, 'fake.iters': 5}))
    out = tmp_path / 'grid'
    run_dir = out / 'base' / 'seed0'

    first = run_grid(grid, out, launch=fake_launch, stream=io.StringIO())
    assert first[0].status == 'failed'
    assert (run_dir / 'last_checkpoint').read_text().endswith('iter_2.pth')

    stream = io.StringIO()
    second = run_grid(grid, out, launch=fake_launch, stream=stream)
    assert second[0].ok
    calls = _calls(run_dir)
    assert [c['tool'] for c in calls] == ['train', 'train', 'test']
    assert '--resume' not in calls[0]['argv']
    assert '--resume' in calls[1]['argv']
    assert calls[2]['argv'][1].endswith('iter_5.pth')
    # iterations 1-2 before the crash, 3-5 after the resume, no repeats
    logged = sorted((run_dir).glob('*/vis_data/scalars.json'))
    iters = [json.loads(line)['iter'] for p in logged
             for line in p.read_text().splitlines()]
    assert iters == [1, 2, 3, 4, 5]

    stream = io.StringIO()
    third = run_grid(grid, out, launch=fake_launch, stream=stream)
    assert third == second
    assert len(_calls(run_dir)) == 3
    assert re.match(r'\[1/1\] skip  base seed 0: already done, AP 30\.0 \| '
                    r'elapsed 0:00:0\d \| ETA 0:00:00$',
                    stream.getvalue().strip())


def test_failed_test_step_reruns_only_the_test(tmp_path, fake_launch,
                                               make_grid):
    out = tmp_path / 'grid'
    run_dir = out / 'base' / 'seed0'
    failing = make_grid(('base', {'fake.fail': 'test'}))
    record = run_grid(failing, out, launch=fake_launch,
                      stream=io.StringIO())[0]
    assert (record.status, record.failed_step) == ('failed', 'test')
    assert record.log == str(run_dir / 'test.log')
    assert 'fake failure in testing' in (run_dir / 'test.log').read_text()

    fixed = make_grid(('base', {}))
    record = run_grid(fixed, out, launch=fake_launch,
                      stream=io.StringIO())[0]
    assert record.ok and record.AP == pytest_approx(30.0)
    assert [c['tool'] for c in _calls(run_dir)] == ['train', 'test', 'test']


def test_progress_lines(tmp_path, fake_launch, make_grid):
    grid = make_grid(('a', {}), ('b', {'fake.fail': 'train'}), ('c', {}))
    stream = io.StringIO()
    run_grid(grid, tmp_path / 'grid', launch=fake_launch, stream=stream)
    lines = stream.getvalue().splitlines()
    hms = r'\d+:\d\d:\d\d'
    expected = [
        rf'\[1/3\] start a seed 0 \| elapsed {hms} \| ETA \?',
        rf'\[1/3\] end   a seed 0: AP 30\.0 in {hms} \| elapsed {hms} \| '
        rf'ETA {hms}',
        rf'\[2/3\] start b seed 0 \| elapsed {hms} \| ETA {hms}',
        rf'\[2/3\] end   b seed 0: FAILED in train, log: '
        rf'.*b/seed0/train\.log in '
        rf'{hms} \| elapsed {hms} \| ETA {hms}',
        rf'\[3/3\] start c seed 0 \| elapsed {hms} \| ETA {hms}',
        rf'\[3/3\] end   c seed 0: AP 30\.0 in {hms} \| elapsed {hms} \| '
        r'ETA 0:00:00',
    ]
    assert len(lines) == len(expected)
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(pattern, line), (line, pattern)


def test_cfg_options_reach_both_tools_in_order(tmp_path, fake_launch,
                                               make_grid):
    grid = make_grid(('a', {'x': 1, 'y': [1, 2]}),
                     cfg_options={'x': 0, 'z': {'w': 'str'}})
    out = tmp_path / 'grid'
    run_grid(grid, out, launch=fake_launch, cfg_options=['y=7'],
             stream=io.StringIO())
    train, test = _calls(out / 'a' / 'seed0')
    opts = train['argv'][train['argv'].index('--cfg-options') + 1:]
    assert opts == ['x=1', 'z.w=str', 'y=7', 'randomness.seed=0']
    opts = test['argv'][test['argv'].index('--cfg-options') + 1:]
    assert opts == ['x=1', 'z.w=str', 'y=7']


def test_only_runs_the_named_variants_and_reports_all(tmp_path, fake_launch,
                                                     make_grid):
    grid = make_grid(('a', {}), ('b', {'fake.ap': 0.4}), ('c', {}))
    out = tmp_path / 'grid'
    run_grid(grid, out, launch=fake_launch, only=['a'], stream=io.StringIO())
    records = run_grid(grid, out, launch=fake_launch, only=['b'],
                       stream=io.StringIO())
    assert [r.variant for r in records] == ['b']
    assert [(r.variant, r.AP) for r in read_csv(out / 'results.csv')] == [
        ('a', pytest_approx(30.0)), ('b', pytest_approx(40.0))]
    assert not (out / 'c').exists()
    assert '| C | 0 | not run |' in (out / 'results.md').read_text()
    assert '| A | 1 | 30.0 |' in (out / 'results.md').read_text()
    with pytest.raises(ValueError, match="only: unknown variants \\['d'\\]"):
        run_grid(grid, out, launch=fake_launch, only=['d'])


def test_jobs_run_at_once_and_report_in_grid_order(tmp_path, fake_launch,
                                                   make_grid):
    meeting = str(tmp_path / 'meeting')
    # Each training waits until both have started: one at a time would fail.
    grid = make_grid(
        ('a', {'fake.ap': 0.30, 'fake.rendezvous': meeting, 'fake.peers': 2}),
        ('b', {'fake.ap': 0.40, 'fake.rendezvous': meeting, 'fake.peers': 2,
               'fake.sleep': 2.0}))
    out = tmp_path / 'grid'
    stream = io.StringIO()
    records = run_grid(grid, out, launch=fake_launch, stream=stream, jobs=2)
    assert [(r.variant, r.status, r.AP) for r in records] == [
        ('a', 'ok', pytest_approx(30.0)), ('b', 'ok', pytest_approx(40.0))]
    assert read_csv(out / 'results.csv') == records
    lines = [re.sub(r' (in \d|\| elapsed).*', '', line)
             for line in stream.getvalue().splitlines()]
    # b sleeps after the rendezvous, so a ends first
    assert lines == ['[1/2] start a seed 0', '[2/2] start b seed 0',
                     '[1/2] end   a seed 0: AP 30.0',
                     '[2/2] end   b seed 0: AP 40.0']


def test_jobs_start_in_grid_order_when_preparing_takes_time(
        tmp_path, fake_launch, make_grid, monkeypatch):
    """The first run's options take longer to resolve; it still starts
    first (the start lines are printed before its thread is started)."""
    import time

    from imbalance_plugin.ablation import run
    real_to_cli = run.to_cli

    def to_cli(*dicts):
        if any(d.get('fake.ap') == 0.30 for d in dicts):
            time.sleep(0.5)
        return real_to_cli(*dicts)

    monkeypatch.setattr(run, 'to_cli', to_cli)
    grid = make_grid(('a', {'fake.ap': 0.30}), ('b', {'fake.ap': 0.40}),
                     ('c', {'fake.ap': 0.50}))
    stream = io.StringIO()
    run_grid(grid, tmp_path / 'grid', launch=fake_launch, stream=stream,
             jobs=3)
    starts = [line.split(' |')[0] for line in stream.getvalue().splitlines()
              if ' start ' in line]
    assert starts == ['[1/3] start a seed 0', '[2/3] start b seed 0',
                      '[3/3] start c seed 0']


def test_jobs_one_would_not_meet(tmp_path, fake_launch, make_grid):
    """The rendezvous above really needs both runs at once."""
    grid = make_grid(('a', {'fake.rendezvous': str(tmp_path / 'm'),
                            'fake.peers': 2, 'fake.patience': 2}))
    records = run_grid(grid, tmp_path / 'grid', launch=fake_launch,
                       stream=io.StringIO(), jobs=1)
    assert records[0].status == 'failed'
    assert 'no peer came' in (tmp_path / 'grid/a/seed0/train.log').read_text()


def test_error_in_one_job_terminates_the_others(tmp_path, fake_launch,
                                                make_grid, monkeypatch):
    import time

    from imbalance_plugin.ablation import run
    real_run_one = run.run_one
    slow_dir = tmp_path / 'grid' / 'slow' / 'seed0'

    def run_one(variant, seed, run_dir, *args, **kwargs):
        if variant.name == 'bad':
            deadline = time.monotonic() + 30
            while not (slow_dir / 'calls.jsonl').exists():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            raise RuntimeError('boom')
        return real_run_one(variant, seed, run_dir, *args, **kwargs)

    monkeypatch.setattr(run, 'run_one', run_one)
    grid = make_grid(('slow', {'fake.sleep': 30}), ('bad', {}), ('never', {}))
    with pytest.raises(RuntimeError, match='boom'):
        run_grid(grid, tmp_path / 'grid', launch=fake_launch,
                 stream=io.StringIO(), jobs=2)
    assert not list(slow_dir.glob('iter_*.pth'))   # terminated while asleep
    assert not (tmp_path / 'grid' / 'never').exists()


def test_bad_jobs(tmp_path, fake_launch, make_grid):
    grid = make_grid(('a', {}))
    with pytest.raises(ValueError, match='jobs must be an integer >= 1'):
        run_grid(grid, tmp_path, launch=fake_launch, jobs=0)
    from imbalance_plugin.ablation.launch import Launch
    with pytest.raises(ValueError, match='jobs: .*launcher none or slurm'):
        run_grid(grid, tmp_path, launch=Launch(launcher='pytorch'), jobs=2)


def test_jobs_report_finished_runs_first_in_grid_order(tmp_path, fake_launch,
                                                       make_grid):
    grid = make_grid(('a', {}), ('b', {}), ('c', {}), ('d', {}))
    out = tmp_path / 'grid'
    run_grid(grid, out, launch=fake_launch, only=['b', 'd'],
             stream=io.StringIO())
    stream = io.StringIO()
    records = run_grid(grid, out, launch=fake_launch, stream=stream, jobs=2)
    assert [r.variant for r in records] == ['a', 'b', 'c', 'd']
    lines = [line.split(' |')[0].split(':')[0]
             for line in stream.getvalue().splitlines()]
    assert lines[:2] == ['[1/4] skip  b seed 0', '[2/4] skip  d seed 0']
    assert lines[2:4] == ['[3/4] start a seed 0', '[4/4] start c seed 0']
    assert len(_calls(out / 'b' / 'seed0')) == 2   # train + test, once


def test_sweep_cells_reach_the_tools_and_lead_the_table(tmp_path,
                                                        fake_launch, row_of):
    config = tmp_path / 'm.py'
    config.write_text('model = dict()\n')
    grid_file = tmp_path / 'sweep.py'
    grid_file.write_text(f"""
sources = dict(p='paper')
cfg_options = {{'fake.seed_step': 0.01}}
variants = [dict(config={str(config)!r},
                 axes=[dict(name='ap', key='fake.ap', values=[0.3, 0.4])],
                 baseline=dict(ap=0.3),
                 published=[dict(ap=0.4, AP=38.0)])]
""")
    from imbalance_plugin.ablation.grid import load_grid
    grid = load_grid(str(grid_file))
    out = tmp_path / 'grid'
    records = run_grid(grid, out, seeds=2, launch=fake_launch,
                       stream=io.StringIO(), only=['ap0.4'])
    assert [(r.variant, r.seed) for r in records] == [('ap0.4', 0),
                                                     ('ap0.4', 1)]
    train, test = _calls(out / 'ap0.4' / 'seed1')
    opts = train['argv'][train['argv'].index('--cfg-options') + 1:]
    assert opts == ['fake.seed_step=0.01', 'fake.ap=0.4', 'randomness.seed=1']
    assert [r.AP for r in records] == [pytest_approx(40.0),
                                       pytest_approx(41.0)]
    md = (out / 'results.md').read_text()
    cells = row_of(md, '0.4')
    assert cells['AP'] == f'40.5 ± {statistics.stdev([40.0, 41.0]):.1f}'
    assert (cells['Pub. AP'], cells['AP − Pub.']) == ('38.0', '+2.5')
    assert row_of(md, '0.3')['AP'] == 'not run'
    assert md.splitlines()[2].startswith('| ap | Seeds | AP |')
