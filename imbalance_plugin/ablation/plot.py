"""``results.png``: AP per variant, measured and published."""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .grid import Grid
from .records import Record
from .rows import Row, rows

#: (x, mean AP, its standard deviation or 0) of each row that has a run.
_Measured = List[Tuple[int, float, float]]
#: (x, published AP) of each row that has one.
_Published = List[Tuple[int, float]]


def swept_axis(grid: Grid) -> Optional[str]:
    """The axis a one-dimensional sweep runs along: every variant is a cell
    and this axis's values are numbers, distinct across the variants (with
    zipped axes, the first such axis); None for anything else."""
    if not all(v.values for v in grid.variants):
        return None
    for name in grid.axes:
        values = [v.values.get(name) for v in grid.variants]
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool)
                      for x in values)
        if numeric and len(set(values)) == len(values):
            return name
    return None


def _sweep(ax, measured: _Measured, published: _Published, what: str) -> None:
    """AP against the swept value: measured with error bars, published as a
    dashed line."""
    if measured:
        ax.errorbar([m[0] for m in measured], [m[1] for m in measured],
                    yerr=[m[2] for m in measured], fmt='o-',
                    color='tab:blue', capsize=5, label=what)
    if published:
        ax.plot([p[0] for p in published], [p[1] for p in published],
                's--', color='tab:red', markerfacecolor='none',
                label='published')


def _methods(ax, table_rows: Sequence[Row], measured: _Measured,
             published: _Published) -> None:
    """Mean AP per variant with error bars (the baseline's grey), published
    AP as diamonds, the baseline's AP as a dashed line."""
    for x, mean, std in measured:
        color = 'tab:gray' if table_rows[x].variant.baseline \
            else 'tab:blue'
        ax.errorbar([x], [mean], yerr=[std], fmt='o', color=color,
                    capsize=5, markersize=7)
    if published:
        ax.scatter([p[0] for p in published], [p[1] for p in published],
                   marker='D', facecolors='none', edgecolors='tab:red',
                   zorder=3, label='published')
    base = next(row for row in table_rows if row.variant.baseline)
    if base.mean('AP') is not None:
        ax.axhline(base.mean('AP'), color='tab:gray', linestyle='--',
                   linewidth=1, label='baseline (measured)')


def _values_and_range(ax, table_rows: Sequence[Row], measured: _Measured,
                      published: _Published) -> None:
    """Each measured mean written beside its point; the AP axis spanning the
    values shown, with "failed" or "not run" at the bottom for a variant
    without a successful run."""
    shown = []
    for x, mean, std in measured:
        ax.annotate(f'{mean:.1f}', (x, mean), xytext=(8, 0),
                    textcoords='offset points', va='center', fontsize=8)
        shown += [mean - std, mean + std]
    shown += [p[1] for p in published]
    low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
    pad = max(0.5, 0.15 * (high - low))
    ax.set_ylim(low - 2 * pad, high + pad)
    for x, row in enumerate(table_rows):
        if row.mean('AP') is None:
            ax.text(x, low - 1.5 * pad, 'failed' if row.failed else 'not run',
                    ha='center', va='center', color='tab:red')


def _labels(ax, grid: Grid, table_rows: Sequence[Row], sweep: bool) -> None:
    """The variants' labels under their points, the axis titles, the grid
    lines and the legend."""
    ax.set_xlim(-0.6, len(table_rows) - 0.4)
    ax.set_xticks(list(range(len(table_rows))))
    if sweep:
        ax.set_xticklabels([row.variant.label.replace(',', '\n')
                            for row in table_rows], fontsize=8)
        ax.set_xlabel(', '.join(grid.axes))
    else:
        ax.set_xticklabels([row.variant.label for row in table_rows],
                           rotation=30, ha='right')
    ax.set_ylabel('box AP (%)')
    ax.set_title(grid.title, fontsize=10)
    ax.grid(axis='y', alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc='best', fontsize=8)


def plot(grid: Grid, records: Sequence[Record], path: Path) -> None:
    """Writes ``results.png``. A one-dimensional sweep (:func:`swept_axis`)
    plots AP against the swept value, measured with standard-deviation
    error bars and published as a dashed line; other grids plot mean AP per
    variant with error bars, the baseline's AP as a dashed line and
    published AP as diamonds. Variants without a successful run are marked
    "failed" or "not run" at the bottom. The AP axis spans the values shown
    (not from 0), so that differences of a point or less stay visible."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    table_rows = rows(grid, records)
    axis = swept_axis(grid)
    if axis is not None:
        table_rows.sort(key=lambda row: row.variant.values[axis])
    fig, ax = plt.subplots(figsize=(1.1 * len(table_rows) + 2.5, 4.2))
    measured = [(x, row.mean('AP'), row.std('AP') or 0.0)
                for x, row in enumerate(table_rows)
                if row.mean('AP') is not None]
    published = [(x, row.published('AP')) for x, row in enumerate(table_rows)
                 if row.published('AP') is not None]
    if axis is not None:
        seeds = max((len(row.ok) for row in table_rows), default=0)
        _sweep(ax, measured, published, 'measured' + (
            f', mean ± std over {seeds} seeds' if seeds > 1 else ''))
    else:
        _methods(ax, table_rows, measured, published)
    _values_and_range(ax, table_rows, measured, published)
    _labels(ax, grid, table_rows, sweep=axis is not None)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
