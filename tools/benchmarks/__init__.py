"""Benchmark suites for tools/benchmark.py: each module defines
``cases(device)`` returning :class:`Case` objects."""
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class Case:
    """One benchmark row.

    ``ours``, ``reference`` and ``plain`` each run one full step (forward and
    backward for a loss) on inputs prepared beforehand. ``targets`` states the
    acceptance bounds: ``max_vs_plain`` (ours / plain) and ``min_speedup``
    (reference / ours); each is checked and printed as PASS or FAIL.
    """
    name: str
    setting: str
    ours: Callable[[], object]
    reference: Optional[Callable[[], object]] = None
    plain: Optional[Callable[[], object]] = None
    plain_name: str = ''
    targets: dict = field(default_factory=dict)
