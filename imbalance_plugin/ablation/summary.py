"""Per-variant statistics over seeds: mean and sample standard deviation of
each metric, and the AP difference to the grid's baseline."""
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from .grid import Grid, Variant
from .metrics import COCO_KEYS
from .records import Record

STAT_COLUMNS = list(COCO_KEYS) + ['s_per_iter', 'peak_mem_mb']


@dataclass
class Summary:
    """One variant's row: statistics over its successful seeds."""
    variant: Variant
    ok_seeds: List[int]
    failed: List[Record]
    mean: Dict[str, Optional[float]] = field(default_factory=dict)
    std: Dict[str, Optional[float]] = field(default_factory=dict)
    delta_ap: Optional[float] = None

    @property
    def n(self) -> int:
        return len(self.ok_seeds)


def _stats(values: Sequence[float]):
    if not values:
        return None, None
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std


def summarize(grid: Grid, records: Sequence[Record]) -> List[Summary]:
    """One :class:`Summary` per variant of the grid, in grid order.

    Mean and standard deviation (sample, n - 1) are over the seeds that
    succeeded; ``delta_ap`` is the variant's mean AP minus the baseline's,
    None for the baseline itself or when either has no successful seed.
    """
    summaries = []
    for variant in grid.variants:
        mine = [r for r in records if r.variant == variant.name]
        ok = sorted((r for r in mine if r.ok), key=lambda r: r.seed)
        summary = Summary(
            variant=variant,
            ok_seeds=[r.seed for r in ok],
            failed=[r for r in mine if not r.ok])
        for column in STAT_COLUMNS:
            values = [getattr(r, column) for r in ok
                      if getattr(r, column) is not None]
            summary.mean[column], summary.std[column] = _stats(values)
        summaries.append(summary)
    base = next(s for s in summaries if s.variant.baseline)
    for summary in summaries:
        if (summary is not base and summary.mean['AP'] is not None
                and base.mean['AP'] is not None):
            summary.delta_ap = summary.mean['AP'] - base.mean['AP']
    return summaries
