"""Progress lines with a fake clock: elapsed time and the time-left
estimate."""
import io

from imbalance_plugin.ablation.progress import Progress, hms


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_eta_is_mean_run_time_times_runs_left():
    clock, stream = Clock(), io.StringIO()
    p = Progress(4, stream=stream, clock=clock)
    p.skip('a seed 0', 'AP 1.0')          # found finished: takes no time
    p.start('b seed 0')
    clock.now += 60
    p.end('b seed 0', 'AP 2.0')
    p.start('c seed 0')
    clock.now += 120
    p.end('c seed 0', 'FAILED')
    assert stream.getvalue().splitlines() == [
        '[1/4] skip  a seed 0: already done, AP 1.0 | elapsed 0:00:00 | '
        'ETA ?',
        '[2/4] start b seed 0 | elapsed 0:00:00 | ETA ?',
        # one run left after b, at 60 s per run
        '[2/4] end   b seed 0: AP 2.0 in 0:01:00 | elapsed 0:01:00 | '
        'ETA 0:02:00',
        '[3/4] start c seed 0 | elapsed 0:01:00 | ETA 0:02:00',
        '[3/4] end   c seed 0: FAILED in 0:02:00 | elapsed 0:03:00 | '
        'ETA 0:01:30',
    ]


def test_hms():
    assert hms(3725.4) == '1:02:05'
    assert hms(0) == '0:00:00'
    assert hms(None) == '?'


def test_runs_at_once_count_starts_and_ends_and_share_the_eta():
    clock, stream = Clock(), io.StringIO()
    p = Progress(5, stream=stream, clock=clock, jobs=2)
    p.start('a seed 0')
    p.start('b seed 0')
    clock.now += 60
    p.end('b seed 0', 'AP 1.0')
    clock.now += 60
    p.end('a seed 0', 'AP 2.0')
    assert stream.getvalue().splitlines() == [
        '[1/5] start a seed 0 | elapsed 0:00:00 | ETA ?',
        '[2/5] start b seed 0 | elapsed 0:00:00 | ETA ?',
        # four runs left at 60 s each, two at a time
        '[1/5] end   b seed 0: AP 1.0 in 0:01:00 | elapsed 0:01:00 | '
        'ETA 0:02:00',
        # three left at a mean of 90 s, two at a time
        '[2/5] end   a seed 0: AP 2.0 in 0:02:00 | elapsed 0:02:00 | '
        'ETA 0:02:15',
    ]
