"""results.md and results.csv from fabricated records: statistics checked
against independent computations."""
import numpy as np

from imbalance_plugin.ablation.grid import Grid, Variant
from imbalance_plugin.ablation.records import Record, read_csv, write_csv
from imbalance_plugin.ablation.table import markdown


def _grid(tmp_path, published=False):
    config = tmp_path / 'c.py'
    config.write_text('')
    names = ('base', 'm1', 'm2', 'm3')
    return Grid(name='g', title='My grid', source=config, variants=tuple(
        Variant(name=n, config=config, label=f'Label {n}',
                baseline=n == 'base',
                published=(36.5 if n == 'base' else None) if published
                else None)
        for n in names))


def _records(rng):
    records = []
    for variant, center in (('base', 30.0), ('m1', 32.0), ('m2', 29.0)):
        for seed in range(3):
            ap = center + rng.normal()
            records.append(Record(
                variant=variant, seed=seed, status='ok', AP=ap, AP50=ap + 20,
                AP75=ap + 3, APs=ap - 12, APm=ap + 1, APl=ap + 9,
                s_per_iter=0.2 + 0.01 * seed, peak_mem_mb=1000 + seed,
                mem_source='rss', wall_s=10.0, log='x.log'))
    records[-1] = Record(variant='m2', seed=2, status='failed',
                         log='/w/m2/seed2/train.log')
    return records


def _row(md, label):
    line = next(x for x in md.splitlines() if x.startswith(f'| {label} |'))
    return [c.strip() for c in line.strip('|').split('|')]


def test_markdown_mean_std_delta(tmp_path):
    rng = np.random.default_rng(0)
    records = _records(rng)
    md = markdown(_grid(tmp_path), records, plot_name='results.png')
    ap = {v: np.array([r.AP for r in records if r.variant == v and r.ok])
          for v in ('base', 'm1', 'm2')}

    base = _row(md, 'Label base')
    assert base[:4] == ['Label base', '3', f'{ap["base"].mean():.1f} ± '
                        f'{ap["base"].std(ddof=1):.1f}', 'baseline']
    assert base[4:9] == [f'{ap["base"].mean() + d:.1f}'
                         for d in (20, 3, -12, 1, 9)]
    assert base[9:] == ['0.210', '1001']
    m1 = _row(md, 'Label m1')
    assert m1[3] == f'{ap["m1"].mean() - ap["base"].mean():+.1f}'
    m2 = _row(md, 'Label m2')
    assert m2[1] == '2 (1 failed)'
    assert m2[2] == f'{ap["m2"].mean():.1f} ± {ap["m2"].std(ddof=1):.1f}'
    assert m2[9] == '0.205'
    assert _row(md, 'Label m3')[1:4] == ['0', 'not run', '']
    assert '- m2 seed 2: see `/w/m2/seed2/train.log`' in md
    assert 'peak resident memory' in md
    assert md.startswith('# My grid\n')
    assert md.rstrip().endswith('![AP per variant](results.png)')
    assert 'Published' not in md


def test_single_seed_has_no_std_and_published_column(tmp_path):
    records = [Record(variant='base', seed=0, status='ok', AP=35.0,
                      AP50=50, AP75=40, APs=20, APm=40, APl=50),
               Record(variant='m1', seed=0, status='failed', log='l')]
    md = markdown(_grid(tmp_path, published=True), records)
    assert md.splitlines()[2].split('|')[-2].strip() == 'Published AP'
    base = _row(md, 'Label base')
    assert base[2:4] == ['35.0', 'baseline'] and base[-1] == '36.5'
    m1 = _row(md, 'Label m1')
    assert m1[1:4] == ['0 (1 failed)', 'failed', ''] and m1[-1] == ''


def test_csv_round_trip(tmp_path):
    records = _records(np.random.default_rng(1))
    write_csv(records, tmp_path / 'r.csv')
    assert read_csv(tmp_path / 'r.csv') == records
    header = (tmp_path / 'r.csv').read_text().splitlines()[0].split(',')
    assert header[:11] == ['variant', 'seed', 'status', 'AP', 'AP50', 'AP75',
                           'APs', 'APm', 'APl', 's_per_iter', 'peak_mem_mb']
