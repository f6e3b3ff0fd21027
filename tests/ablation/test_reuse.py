"""run_grid's ``reuse``: another grid's finished run of the same experiment
(same config after the overrides, same seed) is copied, not trained again;
anything else is trained. Stand-in tools, as in test_runner.py."""
import io

import pytest

from imbalance_plugin.ablation.gradient_density import GradientDensity
from imbalance_plugin.ablation.run import run_grid, run_key


def _trained(run_dir):
    return (run_dir / 'calls.jsonl').exists()


@pytest.fixture
def earlier(tmp_path, fake_launch, make_grid):
    """A grid with two seeds of 'base' (AP 30 + seed) and 'broken', run."""
    grid = make_grid(('base', {'fake.ap': 0.30, 'fake.seed_step': 0.01}),
                     ('broken', {'fake.ap': 0.40, 'fake.fail': 'train'}))
    out = tmp_path / 'earlier'
    run_grid(grid, out, seeds=2, launch=fake_launch, stream=io.StringIO())
    return grid, out


def test_identical_runs_are_copied_and_the_rest_trained(
        tmp_path, fake_launch, make_grid, earlier):
    grid = make_grid(('same', {'fake.ap': 0.30, 'fake.seed_step': 0.01}),
                     ('new', {'fake.ap': 0.50}))
    out = tmp_path / 'later'
    stream = io.StringIO()
    records = run_grid(grid, out, seeds=2, launch=fake_launch, stream=stream,
                       reuse=[earlier])

    source = [earlier[1] / 'base' / f'seed{s}' for s in (0, 1)]
    same = records[:2]
    assert [(r.variant, r.seed, r.AP) for r in same] == [
        ('same', 0, pytest.approx(30.0)), ('same', 1, pytest.approx(31.0))]
    assert [r.reused_from for r in same] == [str(p.resolve())
                                             for p in source]
    assert not any(_trained(out / 'same' / f'seed{s}') for s in (0, 1))
    assert all(_trained(out / 'new' / f'seed{s}') for s in (0, 1))
    assert [r.reused_from for r in records[2:]] == ['', '']
    assert [r.AP for r in records[2:]] == [pytest.approx(50.0)] * 2
    text = stream.getvalue()
    assert f'[1/4] reuse same seed 0: AP 30.0, from {source[0].resolve()}' \
        in text
    assert 'start new seed 0' in text and 'start same' not in text
    md = (out / 'results.md').read_text()
    assert f'- same seed 1: `{source[1].resolve()}`' in md
    assert '- new seed' not in md

    # a second invocation finds the copies as finished runs of its own
    again = io.StringIO()
    assert run_grid(grid, out, seeds=2, launch=fake_launch, stream=again,
                    reuse=[earlier]) == records
    assert 'skip  same seed 0: already done' in again.getvalue()


def test_the_key_is_the_resolved_config_not_how_it_was_spelt(
        tmp_path, fake_launch, make_grid, earlier):
    # the grid-wide option of this grid is the variant option of the other
    grid = make_grid(('same', {}), ('other', {'fake.seed_step': 0.02}),
                     cfg_options={'fake.ap': 0.30, 'fake.seed_step': 0.01})
    out = tmp_path / 'later'
    records = run_grid(grid, out, seeds=1, launch=fake_launch,
                       stream=io.StringIO(), reuse=[earlier])
    assert records[0].reused_from.endswith('earlier/base/seed0')
    # seed_step differs: another config, trained
    assert records[1].reused_from == ''
    assert _trained(out / 'other' / 'seed0')
    base, other = earlier[0].variants[0], grid.variants[1]
    assert run_key(base, ['fake.ap=0.3'], 0) != run_key(base, [
        'fake.ap=0.3'], 1)
    assert run_key(base, ['fake.ap=0.3'], 0) == run_key(other, [
        'fake.ap=0.30'], 0)


def test_only_finished_runs_with_the_same_seed_are_copied(
        tmp_path, fake_launch, make_grid, earlier):
    grid = make_grid(('same', {'fake.ap': 0.30, 'fake.seed_step': 0.01}),
                     ('was-broken', {'fake.ap': 0.40, 'fake.fail': 'train'}))
    out = tmp_path / 'later'
    records = run_grid(grid, out, seeds=3, launch=fake_launch,
                       stream=io.StringIO(), reuse=[earlier])
    by_run = {(r.variant, r.seed): r for r in records}
    assert by_run['same', 0].reused_from and by_run['same', 1].reused_from
    # the earlier grid has no seed 2, and its broken runs failed
    assert by_run['same', 2].reused_from == ''
    assert by_run['same', 2].AP == pytest.approx(32.0)
    assert [by_run['was-broken', s].status for s in range(3)] == ['failed'] * 3
    assert all(_trained(out / 'was-broken' / f'seed{s}') for s in range(3))


def test_a_started_run_resumes_instead_of_being_replaced(
        tmp_path, fake_launch, make_grid, earlier):
    grid = make_grid(('same', {'fake.ap': 0.30, 'fake.seed_step': 0.01}))
    out = tmp_path / 'later'
    started = out / 'same' / 'seed0'
    started.mkdir(parents=True)
    (started / 'train.log').write_text('interrupted\n')
    record = run_grid(grid, out, seeds=1, launch=fake_launch,
                      stream=io.StringIO(), reuse=[earlier])[0]
    assert record.reused_from == '' and _trained(started)


def test_reuse_with_gradient_density_is_refused(tmp_path, fake_launch,
                                                make_grid, earlier):
    grid = make_grid(('same', {'fake.ap': 0.30}))
    with pytest.raises(ValueError,
                       match='^reuse: .*gradient-density hook.*drop one'):
        run_grid(grid, tmp_path / 'later', launch=fake_launch,
                 stream=io.StringIO(), reuse=[earlier],
                 gradient_density=GradientDensity(5, 2))
    assert not (tmp_path / 'later').exists()
