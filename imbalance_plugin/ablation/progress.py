"""Progress lines of a grid run: one when a run starts, one when it ends,
each with the elapsed time and an estimate of the time left.

The estimate is the mean duration of the runs executed so far in this
session times the number of runs not yet finished, divided by the number of
runs going at once (``jobs``, at most the runs left); runs found finished on
disk (a resumed grid) are skipped, and runs reused from another grid
copied; both count as taking no time. Runs going at
once may call it from several threads.
"""
import sys
import threading
import time
from typing import Callable, Dict, Optional, TextIO


def hms(seconds: Optional[float]) -> str:
    """``3725.2`` -> ``'1:02:05'``; None -> ``'?'``."""
    if seconds is None:
        return '?'
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


class Progress:
    """Prints ``[i/n]`` lines to ``stream`` for a grid of ``total`` runs,
    ``jobs`` of them at a time. A start line counts the runs started (or
    skipped), an end line the runs ended."""

    def __init__(self, total: int, stream: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic, jobs: int = 1):
        self.total = total
        self.jobs = jobs
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock
        self.t0 = clock()
        self.started = 0
        self.done = 0
        self.executed = 0
        self.executed_seconds = 0.0
        self._run_start: Dict[str, float] = {}
        self._lock = threading.Lock()

    def eta(self) -> Optional[float]:
        """Seconds left: mean executed-run time x runs not yet finished /
        runs going at once."""
        remaining = self.total - self.done
        if remaining == 0:
            return 0.0
        if self.executed == 0:
            return None
        mean = self.executed_seconds / self.executed
        return mean * remaining / min(self.jobs, remaining)

    def _emit(self, index: int, text: str) -> None:
        elapsed = self.clock() - self.t0
        print(f'[{index}/{self.total}] {text} | elapsed {hms(elapsed)} | '
              f'ETA {hms(self.eta())}', file=self.stream, flush=True)

    def start(self, what: str) -> None:
        with self._lock:
            self._run_start[what] = self.clock()
            self.started += 1
            self._emit(self.started, f'start {what}')

    def end(self, what: str, outcome: str) -> float:
        """Reports the end of run ``what``; returns its duration in
        seconds."""
        with self._lock:
            seconds = self.clock() - self._run_start.pop(what)
            self.executed += 1
            self.executed_seconds += seconds
            self.done += 1
            self._emit(self.done,
                       f'end   {what}: {outcome} in {hms(seconds)}')
            return seconds

    def _not_run(self, text: str) -> None:
        """A run counted as started and ended at once, without a duration."""
        with self._lock:
            self.started += 1
            self.done += 1
            self._emit(self.done, text)

    def skip(self, what: str, outcome: str) -> None:
        self._not_run(f'skip  {what}: already done, {outcome}')

    def reuse(self, what: str, outcome: str, source) -> None:
        """A run not trained: another grid's identical run stands in."""
        self._not_run(f'reuse {what}: {outcome}, from {source}')

    def note(self, text: str) -> None:
        """An indented line about the run just reported."""
        with self._lock:
            print(f'    {text}', file=self.stream, flush=True)
