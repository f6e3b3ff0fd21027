"""The outputs of a grid in its directory: ``results.csv`` (one row per
run), ``results.md`` (one row per variant, in the paper's layout) and
``results.png``.

The table is a list of :class:`Column` specs: a header and how to fill the
cell from a :class:`Row` (a variant and its runs). Adding a column is adding
one spec to :data:`COLUMNS`.
"""
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from .grid import Grid, Variant
from .records import OK, Record, write_csv

CSV = 'results.csv'
MARKDOWN = 'results.md'
PLOT = 'results.png'


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


def _num(value: Optional[float], digits: int = 1, sign: bool = False
         ) -> str:
    if value is None:
        return ''
    return f'{value:+.{digits}f}' if sign else f'{value:.{digits}f}'


def _mean_std(metric: str) -> Callable[[Row], str]:
    def cell(row: Row) -> str:
        mean, std = row.mean(metric), row.std(metric)
        if mean is None:
            return ('failed' if row.failed else 'not run') \
                if metric == 'AP' else ''
        return _num(mean) if std is None else f'{mean:.1f} ± {std:.1f}'
    return cell


def _seeds(row: Row) -> str:
    text = str(len(row.ok))
    return text + f' ({len(row.failed)} failed)' if row.failed else text


def _delta(row: Row) -> str:
    if row.reference is row:
        return 'baseline'
    return _num(row.delta(), sign=True)


def _published_delta(row: Row) -> str:
    return _num(row.grid.published_delta(row.variant), sign=True)


def _off_published(row: Row) -> str:
    mean, published = row.mean('AP'), row.published('AP')
    return '' if mean is None or published is None else \
        _num(mean - published, sign=True)


@dataclass(frozen=True)
class Column:
    """A column of ``results.md``: its header, its cell for a row, whether a
    grid shows it at all, and whether it is text (left-aligned)."""
    header: str
    cell: Callable[[Row], str]
    shown: Callable[[Grid], bool] = lambda grid: True
    text: bool = False


def _publishes(grid: Grid, metric: str) -> bool:
    return any(v.published is not None and metric in v.published.metrics
               for v in grid.variants)


def _has_methods(grid: Grid) -> bool:
    return any(v.method for v in grid.variants)


def axis_columns(grid: Grid) -> List[Column]:
    """A leading column per swept axis, showing each variant's value."""
    return [Column(name, lambda row, n=name: row.variant.value_labels.get(
        n, ''), text=True) for name in grid.axes]


def _also_sources(grid: Grid) -> List[str]:
    keys = []
    for variant in grid.variants:
        keys += [p.source for p in variant.also_published
                 if p.source not in keys]
    return keys


def _also_cell(key: str) -> Callable[[Row], str]:
    def cell(row: Row) -> str:
        main = row.variant.published
        entry = row.variant.published_from(key)
        if entry is None or entry is main or 'AP' not in entry.metrics:
            return ''
        delta = row.grid.published_delta(row.variant, published=entry)
        text = _num(entry.metrics['AP'])
        return text if delta is None else f'{text} ({delta:+.1f})'
    return cell


def also_columns(grid: Grid) -> List[Column]:
    """A column per source that some row carries besides its main one: that
    source's AP, with its delta against the baseline of that source."""
    return [Column(f'{key} AP', _also_cell(key)) for key in
            _also_sources(grid)]


COLUMNS = [
    Column('Method', lambda row: row.variant.method, _has_methods, True),
    Column('Source', lambda row: row.variant.published.source
           if row.variant.published else '',
           lambda grid: len(grid.sources) > 1, True),
    Column('Seeds', _seeds),
    Column('AP', _mean_std('AP')),
    Column('AP50', _mean_std('AP50')),
    Column('AP75', _mean_std('AP75')),
    Column('ΔAP', _delta),
    Column('Pub. AP', lambda row: _num(row.published('AP')),
           lambda grid: _publishes(grid, 'AP')),
    Column('Pub. AP50', lambda row: _num(row.published('AP50')),
           lambda grid: _publishes(grid, 'AP50')),
    Column('Pub. AP75', lambda row: _num(row.published('AP75')),
           lambda grid: _publishes(grid, 'AP75')),
    Column('Pub. ΔAP', _published_delta, lambda grid: grid.has_published),
    Column('AP − Pub.', _off_published, lambda grid: grid.has_published),
    Column('APs', lambda row: _num(row.mean('APs'))),
    Column('APm', lambda row: _num(row.mean('APm'))),
    Column('APl', lambda row: _num(row.mean('APl'))),
    Column('s/iter', lambda row: _num(row.mean('s_per_iter'), 3)),
    Column('Mem (MB)', lambda row: _num(row.mean('peak_mem_mb'), 0)),
]


def table(grid: Grid, table_rows: Sequence[Row]) -> List[str]:
    """The markdown table: the grid's axis columns, then :data:`COLUMNS`
    that the grid shows, with :func:`also_columns` after the published
    ones; the first column is the method where there is one."""
    rest = [c for c in COLUMNS[2:] if c.shown(grid)]
    at = next((i + 1 for i, c in enumerate(rest)
               if c.header == 'AP − Pub.'), len(rest))
    columns = [c for c in COLUMNS[:2] if c.shown(grid)] + \
        axis_columns(grid) + rest[:at] + also_columns(grid) + rest[at:]
    lines = ['| ' + ' | '.join(c.header for c in columns) + ' |',
             '|' + '|'.join('---' if c.text else '---:' for c in columns)
             + '|']
    for row in table_rows:
        lines.append('| ' + ' | '.join(c.cell(row) for c in columns) + ' |')
    return lines


def markdown(grid: Grid, records: Sequence[Record],
             plot_name: Optional[str] = None) -> str:
    """The whole ``results.md``: title, table, notes on the columns and the
    sources, the failed runs with their logs, the gradient-density plots,
    and the plot."""
    table_rows = rows(grid, records)
    lines = [f'# {grid.title}', ''] + table(grid, table_rows)
    sources = sorted({r.mem_source for r in records if r.ok and r.mem_source})
    memory = {'gpu': 'peak CUDA memory logged by MMEngine',
              'rss': 'peak resident memory of the training process'}
    lines += [
        '',
        'COCO box AP in percent on the test split, mean ± sample standard '
        'deviation over the seeds that finished; ΔAP: mean AP minus the '
        'baseline row\'s' + (' (or the row named in the grid\'s `against`)'
                              if any(v.against for v in grid.variants)
                              else '') + '; s/iter is the median training '
        'iteration time; '
        'Mem is the '
        + (' / '.join(memory.get(s, s) for s in sources) or 'peak memory')
        + '.',
    ]
    if grid.has_published:
        lines.append(
            'Pub.: the published values; Pub. ΔAP: published AP minus the '
            'published AP of the baseline of the same source; AP − Pub.: '
            'measured mean AP minus published AP'
            + ('; <source> AP: the AP a further source gives for the row, '
               'in brackets its delta against the baseline of that source'
               if _also_sources(grid) else '') + '. Published:')
        lines.append('')
        for key, source in grid.sources.items():
            text = f'- {key}: {source.cite}'
            if source.baseline is not None:
                text += ('; the baseline these numbers were measured '
                         'against: ' + ', '.join(
                             f'{m} {v:.1f}'
                             for m, v in source.baseline.items()))
            lines.append(text)
    failed = [r for row in table_rows for r in row.failed]
    if failed:
        lines += ['', 'Failed runs:', '']
        lines += [f'- {r.variant} seed {r.seed} ({r.failed_step}): see '
                  f'`{r.log}`' for r in failed]
    analysed = [r for r in records if r.ok and r.density]
    if analysed:
        lines += ['', 'Gradient-density plots '
                  '(`tools/analyze_gradient_density.py` on the final '
                  'checkpoint):', '']
        lines += [f'- {r.variant} seed {r.seed}: '
                  + (f'`{r.density_path}`' if r.density == OK
                     else r.density_outcome()) for r in analysed]
    if plot_name:
        lines += ['', f'![AP per variant]({plot_name})']
    return '\n'.join(lines) + '\n'


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
    xs = range(len(table_rows))
    shown = []
    measured = [(x, row.mean('AP'), row.std('AP') or 0.0)
                for x, row in zip(xs, table_rows)
                if row.mean('AP') is not None]
    published = [(x, row.published('AP')) for x, row in zip(xs, table_rows)
                 if row.published('AP') is not None]
    seeds = max((len(row.ok) for row in table_rows), default=0)
    what = 'measured' + (f', mean ± std over {seeds} seeds'
                         if seeds > 1 else '')
    if axis is not None:
        if measured:
            ax.errorbar([m[0] for m in measured], [m[1] for m in measured],
                        yerr=[m[2] for m in measured], fmt='o-',
                        color='tab:blue', capsize=5, label=what)
        if published:
            ax.plot([p[0] for p in published], [p[1] for p in published],
                    's--', color='tab:red', markerfacecolor='none',
                    label='published')
    else:
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
    for x, mean, std in measured:
        ax.annotate(f'{mean:.1f}', (x, mean), xytext=(8, 0),
                    textcoords='offset points', va='center', fontsize=8)
        shown += [mean - std, mean + std]
    shown += [p[1] for p in published]
    low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
    pad = max(0.5, 0.15 * (high - low))
    ax.set_ylim(low - 2 * pad, high + pad)
    for x, row in zip(xs, table_rows):
        if row.mean('AP') is None:
            ax.text(x, low - 1.5 * pad, 'failed' if row.failed else 'not run',
                    ha='center', va='center', color='tab:red')
    ax.set_xlim(-0.6, len(table_rows) - 0.4)
    ax.set_xticks(list(xs))
    if axis is not None:
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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(grid: Grid, records: Sequence[Record],
                 grid_dir: Path) -> str:
    """Writes the three files (rows in grid order, then by seed); returns
    the markdown text."""
    grid_dir = Path(grid_dir)
    grid_dir.mkdir(parents=True, exist_ok=True)
    order = {v.name: i for i, v in enumerate(grid.variants)}
    records = sorted(records, key=lambda r: (order.get(r.variant, math.inf),
                                             r.seed))
    write_csv(records, grid_dir / CSV,
              {v.name: v.value_labels for v in grid.variants}, grid.axes)
    plot(grid, records, grid_dir / PLOT)
    text = markdown(grid, records, PLOT)
    (grid_dir / MARKDOWN).write_text(text)
    return text
