"""The grids of the GHM and PISA papers' tables: their cells, configs and
published values (each delta against the baseline of its own source), and
`tools/ablate.py <grid> --plan` listing every cell."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from imbalance_plugin.ablation.grid import load_grid

ROOT = Path(__file__).resolve().parents[2]
TABLE1_CONFIG = (ROOT / 'configs' / 'retinanet'
                 / 'retinanet_r50_fpn_ghmc-table1-14e_coco.py')
PISA_CONFIG = (ROOT / 'configs' / 'faster_rcnn'
               / 'faster-rcnn_r50_fpn_pisa-1x_coco.py')


def _by_name(grid):
    return {v.name: v for v in grid.variants}


def test_ghm_bins_is_table_1_in_its_own_setting():
    grid = load_grid('ghm-bins')
    assert [v.values['bins'] for v in grid.variants] == [5, 10, 20, 30, 40]
    assert grid.baseline.name == 'bins30'
    assert all(v.config == TABLE1_CONFIG for v in grid.variants)
    assert 'Table 1' in grid.sources['paper'].cite
    assert 'EMA off' in grid.sources['paper'].cite
    cells = _by_name(grid)
    assert cells['bins30'].published.metrics == dict(
        AP=35.8, AP50=55.5, AP75=38.1, APs=19.6, APm=39.6, APl=46.7)
    assert [v.published.metrics['AP'] for v in grid.variants] == [
        33.4, 34.6, 35.2, 35.8, 35.4]
    assert grid.published_delta(cells['bins5']) == pytest.approx(-2.4)
    assert grid.published_delta(cells['bins40'], 'APl') == pytest.approx(
        -0.4)
    assert all(v.also_published == () for v in grid.variants)


def test_ghm_losses_deltas_stay_within_their_source_and_table():
    grid = load_grid('ghm-losses')
    rows = _by_name(grid)
    # Table 4: GHM-C against FL
    assert grid.published_delta(rows['ghmc-sl1']) == pytest.approx(0.2)
    # Table 5: against its smooth L1 row (GHM-C, 35.8), not against FL
    assert grid.published_reference(rows['ghmc-asl1'])['AP'] == 35.8
    assert grid.published_delta(rows['ghmc-asl1']) == pytest.approx(-0.1)
    assert grid.published_delta(rows['ghmc-ghmr']) == pytest.approx(0.6)
    assert grid.published_delta(rows['ghmc-ghmr'], 'AP50') == \
        pytest.approx(54.6 - 55.5)
    # the README against its own FL + smooth L1 row
    readme = rows['ghmc-ghmr'].published_from('readme')
    assert grid.published_delta(rows['ghmc-ghmr'], published=readme) == \
        pytest.approx(1.4)
    assert rows['fl-sl1'].published.metrics == dict(
        AP=35.6, AP50=55.6, AP75=38.2, APs=19.1, APm=39.2, APl=46.3)
    assert '12 epochs' in grid.sources['readme'].cite
    assert '14 epochs' in grid.sources['table4'].cite


@pytest.mark.parametrize('name, part, key, values, default', [
    ('pisa-k', 'isr', 'k', [0.5, 1.0, 2.0, 3.0], 2.0),
    ('pisa-k', 'carl', 'k', [0.5, 2.0, 3.0], 1.0),
    ('pisa-bias', 'isr', 'bias', [0.0, 0.1, 0.2, 0.3], 0.0),
    ('pisa-bias', 'carl', 'bias', [0.0, 0.1, 0.3], 0.2),
])
def test_pisa_sweeps_set_one_key_of_the_pisa_config(name, part, key, values,
                                                    default):
    grid = load_grid(name)
    cells = [v for v in grid.variants if v.name.startswith(part + '_')]
    option = f'model.train_cfg.rcnn.{part}.{key}'
    assert [v.cfg_options for v in cells] == [{option: x} for x in values]
    assert all(v.config == PISA_CONFIG for v in grid.variants)
    assert not grid.has_published
    rcnn = Config.fromfile(str(PISA_CONFIG)).model.train_cfg.rcnn
    assert rcnn[part][key] == default
    # the baseline is the config as it is: ISR-P at its default, which is
    # also the CARL cell its sweep leaves out
    base = grid.baseline
    assert base.name.startswith('isr_')
    assert list(base.cfg_options.values()) == [rcnn.isr[key]]
    if part == 'carl':
        assert default not in values


def test_pisa_methods_pairs_each_pisa_row_with_its_own_baseline():
    grid = load_grid('pisa-methods')
    rows = _by_name(grid)
    assert grid.baseline.name == 'random'
    assert grid.reference(rows['ohem']).name == 'random'
    assert grid.reference(rows['retinanet-pisa']).name == 'retinanet-fl'
    assert grid.published_delta(rows['pisa']) == pytest.approx(2.0)
    assert grid.published_delta(rows['retinanet-pisa']) == pytest.approx(1.3)
    assert rows['ohem'].published is None and rows['focal'].published is None
    assert 'v1.x' in grid.sources['mmdet'].cite


def _plan(name):
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'ablate.py'), name, '--plan'],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize('name', ['ghm-bins', 'pisa-k', 'pisa-bias',
                                  'pisa-methods', 'pisa-k-toy',
                                  'pisa-bias-toy', 'pisa-methods-toy'])
def test_plan_lists_every_cell(name):
    grid = load_grid(name)
    lines = _plan(name)
    assert [line['name'] for line in lines] == [v.name for v in grid.variants]
    assert [line['baseline'] for line in lines] == [
        v.baseline for v in grid.variants]
    for line, variant in zip(lines, grid.variants):
        for key, value in variant.cfg_options.items():
            assert f'{key}={value}' in line['overrides']
    if name == 'ghm-bins':
        assert lines[0]['published']['AP'] == 33.4
        assert 'Table 1' in lines[0]['published']['source']
    if name.endswith('-toy'):
        assert all('/configs/toy/' in line['config'] for line in lines)
