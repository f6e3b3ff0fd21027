"""The table of ``results.md`` as a list of :class:`Column` specs: a header
and how to fill the cell from a :class:`~.rows.Row`. Adding a column is
adding one spec to :data:`COLUMNS`."""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

from .grid import Grid
from .metrics import MAIN_METRICS, SIZE_METRICS
from .rows import Row


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


def _publishes(metric: str) -> Callable[[Grid], bool]:
    return lambda grid: any(
        v.published is not None and metric in v.published.metrics
        for v in grid.variants)


def _has_methods(grid: Grid) -> bool:
    return any(v.method for v in grid.variants)


def axis_columns(grid: Grid) -> List[Column]:
    """A leading column per swept axis, showing each variant's value."""
    return [Column(name, lambda row, n=name: row.variant.value_labels.get(
        n, ''), text=True) for name in grid.axes]


def also_sources(grid: Grid) -> List[str]:
    """The sources that some row carries besides its main one."""
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
            also_sources(grid)]


COLUMNS = [
    Column('Method', lambda row: row.variant.method, _has_methods, True),
    Column('Source', lambda row: row.variant.published.source
           if row.variant.published else '',
           lambda grid: len(grid.sources) > 1, True),
    Column('Seeds', _seeds),
    *(Column(m, _mean_std(m)) for m in MAIN_METRICS),
    Column('ΔAP', _delta),
    *(Column(f'Pub. {m}', lambda row, m=m: _num(row.published(m)),
             _publishes(m)) for m in MAIN_METRICS),
    Column('Pub. ΔAP', _published_delta, lambda grid: grid.has_published),
    Column('AP − Pub.', _off_published, lambda grid: grid.has_published),
    *(Column(m, lambda row, m=m: _num(row.mean(m))) for m in SIZE_METRICS),
    Column('s/iter', lambda row: _num(row.mean('s_per_iter'), 3)),
    Column('Mem (MB)', lambda row: _num(row.mean('peak_mem_mb'), 0)),
]


def table(grid: Grid, table_rows: Sequence[Row]) -> List[str]:
    """The markdown table's lines: the grid's axis columns, then
    :data:`COLUMNS` that the grid shows, with :func:`also_columns` after the
    published ones; the first column is the method where there is one."""
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
