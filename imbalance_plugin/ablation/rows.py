"""The rows of ``results.md``: each variant with its runs, and statistics
over the seeds that succeeded."""
import statistics
from dataclasses import dataclass
from typing import List, Optional, Sequence

from .grid import Grid, Variant
from .records import Record


@dataclass
class Row:
    """One variant and its runs: statistics over the seeds that succeeded.
    ``reference`` is the row it compares with (:meth:`Grid.reference`)."""
    grid: Grid
    variant: Variant
    ok: List[Record]
    failed: List[Record]
    reference: Optional['Row'] = None

    def values(self, metric: str) -> List[float]:
        return [getattr(r, metric) for r in self.ok
                if getattr(r, metric) is not None]

    def mean(self, metric: str) -> Optional[float]:
        """Mean over the successful seeds, None without any."""
        values = self.values(metric)
        return statistics.fmean(values) if values else None

    def std(self, metric: str) -> Optional[float]:
        """Sample standard deviation (n - 1), None under two seeds."""
        values = self.values(metric)
        return statistics.stdev(values) if len(values) > 1 else None

    def delta(self, metric: str = 'AP') -> Optional[float]:
        """Mean ``metric`` minus that of the row this one compares with
        (the baseline, or the variant's ``against``); None for that row
        itself or where either has no successful seed."""
        if self.reference is None or self.reference is self:
            return None
        mine, base = self.mean(metric), self.reference.mean(metric)
        return None if mine is None or base is None else mine - base

    def published(self, metric: str = 'AP') -> Optional[float]:
        published = self.variant.published
        return None if published is None else published.metrics.get(metric)


def rows(grid: Grid, records: Sequence[Record]) -> List[Row]:
    """One :class:`Row` per variant of the grid, in grid order; records of
    variants the grid does not have are left out."""
    result = []
    for variant in grid.variants:
        mine = sorted((r for r in records if r.variant == variant.name),
                      key=lambda r: r.seed)
        result.append(Row(grid, variant, [r for r in mine if r.ok],
                          [r for r in mine if not r.ok]))
    by_name = {row.variant.name: row for row in result}
    for row in result:
        row.reference = by_name[grid.reference(row.variant).name]
    return result
