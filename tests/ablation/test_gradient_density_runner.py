"""run_grid with ``gradient_density`` and stand-in tools: the hook reaches
training through a derived config, the analysis runs after the test on the
final checkpoint, resumes on its own, and a refused detector is skipped
(the real tools are run in test_ablate_gradient_density.py)."""
import io
import json
import re
from pathlib import Path

import pytest
from mmengine.config import Config

from imbalance_plugin.ablation.gradient_density import (
    GradientDensity,
    analyze_run,
)
from imbalance_plugin.ablation.launch import UNSUPPORTED_DETECTOR
from imbalance_plugin.ablation.records import Record, read_csv
from imbalance_plugin.ablation.run import run_grid
from imbalance_plugin.diagnostics.hook_config import HOOK_TYPE

REPO = Path(__file__).resolve().parents[2]


def _calls(run_dir):
    path = run_dir / 'calls.jsonl'
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _option_list(argv):
    return argv[argv.index('--cfg-options') + 1:]


def test_hook_in_training_and_analysis_of_the_final_checkpoint(
        tmp_path, fake_launch, make_grid):
    grid = make_grid(('a', {'x': 1}))
    out = tmp_path / 'grid'
    run_dir = out / 'a' / 'seed0'
    stream = io.StringIO()
    record, = run_grid(grid, out, launch=fake_launch, cfg_options=['y=2'],
                       stream=stream,
                       gradient_density=GradientDensity(7, num_images=3))

    train, test, density = _calls(run_dir)
    assert (train['tool'], test['tool'], density['tool']) == (
        'train', 'test', 'density')
    variant_config = grid.variants[0].config
    trained = Path(train['argv'][0])
    assert trained == run_dir.resolve() / 'hook_config' / variant_config.name
    cfg = Config.fromfile(str(trained))
    assert [dict(h) for h in cfg.custom_hooks] == [
        dict(type=HOOK_TYPE, interval=7)]
    assert test['argv'][0] == str(variant_config)

    argv = density['argv']
    assert argv[0] == str(variant_config)
    assert argv[argv.index('--checkpoint') + 1] == str(
        run_dir.resolve() / 'iter_4.pth')
    assert argv[argv.index('--num-images') + 1] == '3'
    plots = run_dir.resolve() / 'gradient_density'
    assert argv[argv.index('--out-dir') + 1] == str(plots)
    assert _option_list(argv) == ['x=1', 'y=2']

    assert record.ok and (record.density, record.density_path) == (
        'ok', str(plots))
    assert read_csv(out / 'results.csv')[0] == record
    assert Record.load(run_dir / 'result.json') == record
    md = (out / 'results.md').read_text()
    assert f'- a seed 0: `{plots}`' in md
    lines = stream.getvalue().splitlines()
    assert lines[-1] == f'    a seed 0 gradient density: {plots}'


def test_without_it_nothing_changes(tmp_path, fake_launch, make_grid):
    grid = make_grid(('a', {}))
    out = tmp_path / 'grid'
    run_dir = out / 'a' / 'seed0'
    stream = io.StringIO()
    record, = run_grid(grid, out, launch=fake_launch, stream=stream)
    train, test = _calls(run_dir)
    assert train['argv'][0] == str(grid.variants[0].config)
    assert sorted(p.name for p in run_dir.iterdir()
                  if p.is_dir() and not p.name.isdigit()) == ['test']
    assert (record.density, record.density_path) == ('', '')
    assert 'Gradient-density' not in (out / 'results.md').read_text()
    assert 'gradient density' not in stream.getvalue()


def test_finished_run_gets_only_the_analysis_then_nothing(
        tmp_path, fake_launch, make_grid):
    grid = make_grid(('a', {}))
    out = tmp_path / 'grid'
    run_dir = out / 'a' / 'seed0'
    run_grid(grid, out, launch=fake_launch, stream=io.StringIO())
    density = GradientDensity(5)

    run_grid(grid, out, launch=fake_launch, stream=io.StringIO(),
             gradient_density=density)
    assert [c['tool'] for c in _calls(run_dir)] == ['train', 'test',
                                                    'density']

    stream = io.StringIO()
    record, = run_grid(grid, out, launch=fake_launch, stream=stream,
                       gradient_density=density)
    assert len(_calls(run_dir)) == 3
    skip, note = stream.getvalue().splitlines()
    assert skip.startswith('[1/1] skip  a seed 0: already done')
    assert note == (f'    a seed 0 gradient density: '
                    f'{run_dir.resolve() / "gradient_density"}')
    assert (record.density, record.density_path) == (
        'ok', str(run_dir.resolve() / 'gradient_density'))


def test_refused_detector_is_skipped_not_failed(tmp_path, fake_launch,
                                                make_grid):
    grid = make_grid(('a', {}), ('two-stage', {'fake.density': 'unsupported'}))
    out = tmp_path / 'grid'
    stream = io.StringIO()
    records = run_grid(grid, out, launch=fake_launch, stream=stream,
                       gradient_density=GradientDensity(5))
    assert all(r.ok for r in records)
    reason = 'model must be a single-stage detector, fake'
    assert (records[1].density, records[1].density_reason) == (
        'skipped', reason)
    assert stream.getvalue().splitlines()[-1] == (
        f'    two-stage seed 0 gradient density: skipped: {reason}')
    assert f'- two-stage seed 0: skipped: {reason}' in (
        out / 'results.md').read_text()

    run_grid(grid, out, launch=fake_launch, stream=io.StringIO(),
             gradient_density=GradientDensity(5))
    assert [c['tool'] for c in _calls(out / 'two-stage' / 'seed0')] == [
        'train', 'test', 'density']


def test_failed_analysis_keeps_the_run_and_is_retried(tmp_path, fake_launch,
                                                      make_grid):
    out = tmp_path / 'grid'
    run_dir = out / 'a' / 'seed0'
    record, = run_grid(make_grid(('a', {'fake.density': 'fail'})), out,
                       launch=fake_launch, stream=io.StringIO(),
                       gradient_density=GradientDensity(5))
    log = run_dir.resolve() / 'gradient_density.log'
    assert record.ok and record.AP == pytest.approx(30.0)
    assert (record.density, record.density_path) == ('failed', str(log))
    assert 'fake failure in the analysis' in log.read_text()
    assert f'- a seed 0: failed, log: {log}' in (out /
                                                 'results.md').read_text()

    record, = run_grid(make_grid(('a', {})), out, launch=fake_launch,
                       stream=io.StringIO(),
                       gradient_density=GradientDensity(5))
    assert [c['tool'] for c in _calls(run_dir)] == ['train', 'test',
                                                    'density', 'density']
    assert (record.density, record.density_path) == (
        'ok', str(run_dir.resolve() / 'gradient_density'))


def test_failed_run_is_not_analysed(tmp_path, fake_launch):
    failed = Record(variant='a', seed=0, status='failed',
                    failed_step='train')
    assert analyze_run(failed, None, None, tmp_path, fake_launch,
                       GradientDensity(5)) is failed
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('interval, images', [(0, 8), (1, 0), (True, 8),
                                              (2.0, 8)])
def test_bad_settings(interval, images):
    with pytest.raises(ValueError, match='interval|num_images'):
        GradientDensity(interval, images)


def test_exit_status_is_the_tools():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'analyze_gradient_density',
        REPO / 'tools' / 'analyze_gradient_density.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.UNSUPPORTED_DETECTOR == UNSUPPORTED_DETECTOR


def test_cli_rejects_a_bad_interval(capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'ablate', REPO / 'tools' / 'ablate.py')
    ablate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablate)
    with pytest.raises(SystemExit):
        ablate.parse_args(['g', '--gradient-density', '0'])
    assert re.search('--gradient-density must be an integer >= 1, got 0',
                     capsys.readouterr().err)
    with pytest.raises(SystemExit):
        ablate.parse_args(['g', '--gradient-density', '5',
                           '--gradient-density-images', '0'])
    assert re.search('--gradient-density-images must be an integer >= 1, '
                     'got 0', capsys.readouterr().err)
    args = ablate.parse_args(['g', '--gradient-density', '20'])
    assert (args.gradient_density, args.gradient_density_images) == (20, 8)
    assert args.density == GradientDensity(20, 8)
    assert ablate.parse_args(['g']).density is None


def test_sweep_cells_are_analysed_with_their_overrides(tmp_path,
                                                       fake_launch):
    from imbalance_plugin.ablation.grid import load_grid
    config = tmp_path / 'm.py'
    config.write_text('model = dict()\n')
    grid_file = tmp_path / 'sweep.py'
    grid_file.write_text(
        f"variants = [dict(config={str(config)!r}, baseline=dict(ap=0.3), "
        "axes=[dict(name='ap', key='fake.ap', values=[0.3, 0.4])])]\n")
    out = tmp_path / 'grid'
    records = run_grid(load_grid(str(grid_file)), out, launch=fake_launch,
                       stream=io.StringIO(),
                       gradient_density=GradientDensity(5))
    assert [(r.variant, r.density) for r in records] == [('ap0.3', 'ok'),
                                                        ('ap0.4', 'ok')]
    for name, value in (('ap0.3', '0.3'), ('ap0.4', '0.4')):
        train, test, density = _calls(out / name / 'seed0')
        assert _option_list(density['argv']) == [f'fake.ap={value}']
        assert _option_list(test['argv']) == [f'fake.ap={value}']
