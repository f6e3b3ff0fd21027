"""results.md, results.csv and results.png from fabricated records:
statistics checked against independent computations, the columns by
header."""
import csv

import numpy as np
import pytest

from imbalance_plugin.ablation.columns import COLUMNS, Column, table
from imbalance_plugin.ablation.grid import load_grid
from imbalance_plugin.ablation.plot import swept_axis
from imbalance_plugin.ablation.prose import markdown
from imbalance_plugin.ablation.records import Record, read_csv, write_csv
from imbalance_plugin.ablation.report import write_report
from imbalance_plugin.ablation.rows import rows

SWEEP = """
title = 'sweep'
sources = dict(paper='A paper, Table 1')
cfg_options = dict(z=1)
variants = [dict(config='m.py', combine='zip',
                 axes=[dict(name='gamma', key='g', values=[0.0, 1.0, 2.0]),
                       dict(name='alpha', key='a', values=[0.75, 0.5, 0.25])],
                 baseline=dict(gamma=0.0, alpha=0.75),
                 published=[dict(gamma=0.0, alpha=0.75, AP=31.1, AP50=49.4,
                                 AP75=33.0),
                            dict(gamma=2.0, alpha=0.25, AP=34.0, AP50=52.5,
                                 AP75=36.5)])]
"""
METHODS = """
title = 'methods'
sources = dict(zoo='v2 zoo', old=dict(cite='v1 README',
                                      baseline=dict(AP=35.6)))
variants = [
    dict(name='base', label='Base', baseline=True,
         published=dict(source='zoo', AP=36.5), config='m.py'),
    dict(name='m1', label='M1', published=dict(source='old', AP=36.9),
         config='m.py'),
    dict(name='m2', label='M2', config='m.py'),
    dict(name='m3', label='M3', config='m.py'),
]
"""


def _grid(tmp_path, text):
    (tmp_path / 'm.py').write_text('x = 1\n')
    path = tmp_path / 'grid.py'
    path.write_text(text)
    return load_grid(str(path))


def _record(variant, seed, ap, **extra):
    return Record(variant=variant, seed=seed, status='ok', AP=ap,
                  AP50=ap + 20, AP75=ap + 3, APs=ap - 12, APm=ap + 1,
                  APl=ap + 9, s_per_iter=0.2 + 0.01 * seed,
                  peak_mem_mb=1000 + seed, mem_source='rss', wall_s=10.0,
                  log='x.log', **extra)


def _records(rng, names_centers):
    return [_record(name, seed, center + rng.normal())
            for name, center in names_centers for seed in range(3)]


def test_methods_table_mean_std_deltas_and_published(tmp_path, row_of):
    grid = _grid(tmp_path, METHODS)
    records = _records(np.random.default_rng(0),
                       [('base', 30.0), ('m1', 32.0), ('m2', 29.0)])
    records[-1] = Record(variant='m2', seed=2, status='failed',
                         failed_step='test', log='/w/m2/seed2/test.log')
    md = markdown(grid, records, plot_name='results.png')
    ap = {v: np.array([r.AP for r in records if r.variant == v and r.ok])
          for v in ('base', 'm1', 'm2')}

    base = row_of(md, 'Base')
    assert base['Seeds'] == '3'
    assert base['AP'] == (f'{ap["base"].mean():.1f} ± '
                          f'{ap["base"].std(ddof=1):.1f}')
    assert base['AP75'] == (f'{ap["base"].mean() + 3:.1f} ± '
                            f'{ap["base"].std(ddof=1):.1f}')
    assert base['ΔAP'] == 'baseline'
    assert [base[c] for c in ('APs', 'APm', 'APl')] == [
        f'{ap["base"].mean() + d:.1f}' for d in (-12, 1, 9)]
    assert (base['s/iter'], base['Mem (MB)']) == ('0.210', '1001')
    assert (base['Source'], base['Pub. AP'], base['Pub. ΔAP']) == (
        'zoo', '36.5', '')
    assert base['AP − Pub.'] == f'{ap["base"].mean() - 36.5:+.1f}'

    m1 = row_of(md, 'M1')
    assert m1['ΔAP'] == f'{ap["m1"].mean() - ap["base"].mean():+.1f}'
    # against the v1 baseline of its own source, not the zoo's 36.5
    assert (m1['Source'], m1['Pub. AP'], m1['Pub. ΔAP']) == (
        'old', '36.9', '+1.3')
    # no row publishes AP50 / AP75: no columns for them
    assert 'Pub. AP50' not in m1 and 'Pub. AP75' not in m1
    m2 = row_of(md, 'M2')
    assert m2['Seeds'] == '2 (1 failed)'
    assert m2['AP'] == f'{ap["m2"].mean():.1f} ± {ap["m2"].std(ddof=1):.1f}'
    assert m2['s/iter'] == '0.205'
    assert (m2['Pub. AP'], m2['AP − Pub.']) == ('', '')
    m3 = row_of(md, 'M3')
    assert (m3['Seeds'], m3['AP'], m3['ΔAP'], m3['AP50']) == (
        '0', 'not run', '', '')
    assert '- m2 seed 2 (test): see `/w/m2/seed2/test.log`' in md
    assert '- old: v1 README; the baseline these numbers were measured ' \
        'against: AP 35.6' in md
    assert '- zoo: v2 zoo' in md
    assert 'peak resident memory' in md
    assert md.startswith('# methods\n')
    assert md.rstrip().endswith('![AP per variant](results.png)')


TWO_SOURCES = """
title = 'two sources'
sources = dict(paper='A paper, Table 4',
               paper5=dict(cite='A paper, Table 5', baseline=dict(AP=35.8)),
               readme='Its README')
variants = [
    dict(name='fl', label='FL', baseline=True, config='m.py',
         published=[dict(source='paper', AP=35.6),
                    dict(source='readme', AP=35.6)]),
    dict(name='ghmc', label='GHM-C', config='m.py',
         published=[dict(source='paper', AP=35.8),
                    dict(source='readme', AP=35.8)]),
    dict(name='ghmr', label='GHM-R', config='m.py',
         published=[dict(source='paper5', AP=36.4),
                    dict(source='readme', AP=37.0)]),
    dict(name='asl1', label='ASL1', config='m.py',
         published=dict(source='paper5', AP=35.7)),
]
"""


def test_a_further_source_has_its_own_column(tmp_path, row_of):
    grid = _grid(tmp_path, TWO_SOURCES)
    records = [_record(name, 0, ap) for name, ap in
               (('fl', 30.0), ('ghmc', 31.0), ('ghmr', 33.0))]
    md = markdown(grid, records)
    header = [c.strip() for c in md.splitlines()[2].strip('|').split('|')]
    # after the main published columns, before the measured APs / APm / APl
    assert header.index('readme AP') == header.index('AP − Pub.') + 1
    assert header.index('APs') == header.index('readme AP') + 1
    cells = {name: row_of(md, name) for name in ('FL', 'GHM-C', 'GHM-R',
                                                 'ASL1')}
    assert [(c['Source'], c['Pub. AP'], c['Pub. ΔAP'], c['readme AP'])
            for c in cells.values()] == [
        ('paper', '35.6', '', '35.6'),
        ('paper', '35.8', '+0.2', '35.8 (+0.2)'),
        # Table 5 against its own baseline, the README against its FL row
        ('paper5', '36.4', '+0.6', '37.0 (+1.4)'),
        ('paper5', '35.7', '-0.1', '')]
    assert cells['GHM-R']['AP − Pub.'] == '-3.4'
    assert '<source> AP: the AP a further source gives' in md
    assert '- readme: Its README' in md


def test_no_column_without_a_further_source(tmp_path):
    grid = _grid(tmp_path, METHODS)
    header = table(grid, rows(grid, []))[0]
    assert ' AP (' not in header and 'zoo AP' not in header
    assert 'further source' not in markdown(grid, [])


def test_sweep_table_leads_with_the_swept_values(tmp_path, row_of):
    grid = _grid(tmp_path, SWEEP)
    records = [_record('gamma0_alpha0.75', 0, 30.0),
               _record('gamma0_alpha0.75', 1, 32.0),
               _record('gamma2_alpha0.25', 0, 35.0)]
    md = markdown(grid, records)
    header = [c.strip() for c in md.splitlines()[2].strip('|').split('|')]
    assert header[:5] == ['gamma', 'alpha', 'Seeds', 'AP', 'AP50']
    assert 'Method' not in header and 'Source' not in header
    base = row_of(md, '0')
    assert (base['alpha'], base['AP'], base['ΔAP']) == (
        '0.75', f'31.0 ± {np.std([30.0, 32.0], ddof=1):.1f}', 'baseline')
    best = row_of(md, '2')
    assert (best['alpha'], best['AP'], best['AP50'], best['ΔAP']) == (
        '0.25', '35.0', '55.0', '+4.0')
    assert (best['Pub. AP'], best['Pub. AP50'], best['Pub. AP75']) == (
        '34.0', '52.5', '36.5')
    assert (best['Pub. ΔAP'], best['AP − Pub.']) == ('+2.9', '+1.0')
    middle = row_of(md, '1')
    assert (middle['Seeds'], middle['AP'], middle['Pub. AP']) == (
        '0', 'not run', '')
    assert 'Published:\n\n- paper: A paper, Table 1' in md


def test_a_column_is_one_spec(tmp_path, monkeypatch, row_of):
    grid = _grid(tmp_path, METHODS)
    records = [_record('base', 0, 30.0)]
    records[0].wall_s = 90.0
    column = Column('Wall (s)', lambda row: f'{row.mean("wall_s"):.0f}'
                    if row.ok else '')
    monkeypatch.setattr('imbalance_plugin.ablation.columns.COLUMNS',
                        COLUMNS + [column])
    assert row_of(markdown(grid, records), 'Base')['Wall (s)'] == '90'
    lines = table(grid, rows(grid, records))
    assert lines[1].count('|') == lines[0].count('|')


def test_swept_axis():
    assert swept_axis(load_grid('focal-gamma')) == 'gamma'
    assert swept_axis(load_grid('focal-alpha-toy')) == 'alpha'
    assert swept_axis(load_grid('ghm-bins')) == 'bins'
    assert swept_axis(load_grid('focal-anchors')) is None   # two dimensions
    assert swept_axis(load_grid('retinanet-coco')) is None  # methods


@pytest.mark.parametrize('text', [SWEEP, METHODS])
def test_write_report_files(tmp_path, text):
    grid = _grid(tmp_path, text)
    names = [v.name for v in grid.variants]
    records = [_record(names[-1], 1, 33.0), _record(names[0], 0, 30.0),
               Record(variant=names[0], seed=1, status='failed',
                      failed_step='train', log='l')]
    out = tmp_path / 'out'
    text = write_report(grid, records, out)
    assert (out / 'results.md').read_text() == text
    png = (out / 'results.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000
    rows_read = read_csv(out / 'results.csv')
    assert [(r.variant, r.seed) for r in rows_read] == [
        (names[0], 0), (names[0], 1), (names[-1], 1)]
    with open(out / 'results.csv', newline='') as f:
        header = next(csv.reader(f))
    assert header[:1 + len(grid.axes)] == ['variant', *grid.axes]
    assert header[1 + len(grid.axes):5 + len(grid.axes)] == [
        'seed', 'status', 'failed_step', 'AP']


def test_csv_round_trip_with_axis_columns(tmp_path):
    records = _records(np.random.default_rng(1), [('a1', 30.0), ('a2', 31.0)])
    records.append(Record(variant='a2', seed=3, status='ok', density='failed',
                          density_path='/l', density_reason='exit status 1'))
    write_csv(records, tmp_path / 'r.csv', {'a1': {'a': '1'}}, ['a'])
    assert read_csv(tmp_path / 'r.csv') == records
    with open(tmp_path / 'r.csv', newline='') as f:
        values = [row['a'] for row in csv.DictReader(f)]
    assert values == ['1'] * 3 + [''] * 4


@pytest.mark.parametrize('fields, message', [
    (dict(status='done'), 'status'),
    (dict(status='failed', failed_step='eval'), 'failed_step'),
    (dict(status='ok', density='maybe'), 'density'),
])
def test_record_refuses_unknown_states(fields, message):
    with pytest.raises(ValueError, match=message):
        Record(variant='a', seed=0, **fields)


def test_record_load_refuses_unknown_fields(tmp_path):
    path = tmp_path / 'result.json'
    Record(variant='a', seed=0, status='ok', AP=1.0).save(path)
    assert Record.load(path).AP == 1.0
    path.write_text(path.read_text().replace('"density"',
                                             '"gradient_density"'))
    with pytest.raises(ValueError, match='gradient_density'):
        Record.load(path)
