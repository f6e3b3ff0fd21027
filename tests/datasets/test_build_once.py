"""build_once: one build per entry, atomic placement, no leftovers on
failure, concurrent callers."""
import multiprocessing
import time

import pytest

from imbalance_plugin.datasets.build_once import build_once


def _write_file(tmp):
    tmp.write_text('done')


def _write_folder(tmp):
    tmp.mkdir()
    (tmp / 'meta.json').write_text('{}')


@pytest.mark.parametrize('build, done', [
    (_write_file, None),
    (_write_folder, lambda p: (p / 'meta.json').is_file()),
])
def test_builds_once_then_reuses(tmp_path, build, done):
    calls = []

    def counted(tmp):
        calls.append(tmp)
        build(tmp)

    entry = tmp_path / 'cache' / 'entry'
    assert build_once(entry, counted, done) == entry
    assert build_once(entry, counted, done) == entry
    assert len(calls) == 1 and calls[0].parent == entry.parent
    assert calls[0].name.startswith('.entry.tmp-')
    assert sorted(p.name for p in entry.parent.iterdir()) == [
        '.entry.lock', 'entry']


@pytest.mark.parametrize('build', [_write_file, _write_folder])
def test_failed_build_leaves_nothing_behind(tmp_path, build):
    def failing(tmp):
        build(tmp)
        raise RuntimeError('interrupted')

    with pytest.raises(RuntimeError, match='interrupted'):
        build_once(tmp_path / 'entry', failing)
    assert [p.name for p in tmp_path.iterdir()] == ['.entry.lock']


def _slow_build(tmp):
    time.sleep(0.5)
    with open(tmp.parent / 'builds.log', 'a') as log:
        log.write('built\n')
    tmp.write_text('done')


def _worker(path):
    build_once(path, _slow_build)


def test_concurrent_callers_build_once(tmp_path):
    entry = tmp_path / 'entry'
    procs = [multiprocessing.Process(target=_worker, args=(entry, ))
             for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert entry.read_text() == 'done'
    assert (tmp_path / 'builds.log').read_text() == 'built\n'
