"""``results.md``: the paper-style table of a grid, one row per variant."""
from pathlib import Path
from typing import List, Optional, Sequence

from .gradient_density import SKIPPED_PREFIX, failed
from .grid import Grid
from .records import Record
from .summary import Summary, summarize


def _num(value: Optional[float], digits: int = 1) -> str:
    return '' if value is None else f'{value:.{digits}f}'


def _ap_cell(summary: Summary) -> str:
    mean, std = summary.mean['AP'], summary.std['AP']
    if mean is None:
        return 'failed' if summary.failed else 'not run'
    return _num(mean) if std is None else f'{mean:.1f} ± {std:.1f}'


def _delta_cell(summary: Summary) -> str:
    if summary.variant.baseline:
        return 'baseline'
    if summary.delta_ap is None:
        return ''
    return f'{summary.delta_ap:+.1f}'


def _density_cell(record: Record) -> str:
    text = record.gradient_density
    if text.startswith(SKIPPED_PREFIX) or failed(text):
        return text
    return f'`{text}`'


def markdown_rows(grid: Grid, summaries: Sequence[Summary]) -> List[str]:
    header = ['Method', 'Seeds', 'AP', 'ΔAP', 'AP50', 'AP75', 'APs', 'APm',
              'APl', 's/iter', 'Mem (MB)']
    if grid.has_published:
        header.append('Published AP')
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|']
    for s in summaries:
        seeds = str(s.n)
        if s.failed:
            seeds += f' ({len(s.failed)} failed)'
        row = [s.variant.label, seeds, _ap_cell(s), _delta_cell(s)]
        row += [_num(s.mean[c]) for c in ('AP50', 'AP75', 'APs', 'APm', 'APl')]
        row += [_num(s.mean['s_per_iter'], 3), _num(s.mean['peak_mem_mb'], 0)]
        if grid.has_published:
            row.append(_num(s.variant.published))
        lines.append('| ' + ' | '.join(row) + ' |')
    return lines


def markdown(grid: Grid, records: Sequence[Record],
             plot_name: Optional[str] = None) -> str:
    """The whole ``results.md``: title, table, notes on the columns, the list
    of failed runs with their logs, and the plot."""
    summaries = summarize(grid, records)
    lines = [f'# {grid.title}', '']
    lines += markdown_rows(grid, summaries)
    sources = sorted({r.mem_source for r in records if r.ok and r.mem_source})
    memory = {'gpu': 'peak CUDA memory logged by MMEngine',
              'rss': 'peak resident memory of the training process'}
    lines += [
        '',
        'COCO box AP in percent on the test split, mean ± sample standard '
        'deviation over the seeds that finished; ΔAP against the baseline '
        'row; s/iter is the median training iteration time; Mem is the '
        + (' / '.join(memory.get(s, s) for s in sources) or 'peak memory')
        + '.',
    ]
    if grid.has_published:
        lines.append('Published AP: box AP of the mmdet model zoo R-50-FPN 1x '
                     'model of the method on COCO val2017.')
    failed = [r for s in summaries for r in s.failed]
    if failed:
        lines += ['', 'Failed runs:', '']
        lines += [f'- {r.variant} seed {r.seed}: see `{r.log}`'
                  for r in failed]
    analysed = [r for r in records if r.ok and r.gradient_density]
    if analysed:
        lines += ['', 'Gradient-density plots '
                  '(`tools/analyze_gradient_density.py` on the final '
                  'checkpoint):', '']
        lines += [f'- {r.variant} seed {r.seed}: {_density_cell(r)}'
                  for r in analysed]
    if plot_name:
        lines += ['', f'![AP per variant]({plot_name})']
    return '\n'.join(lines) + '\n'


def write_markdown(grid: Grid, records: Sequence[Record], path: Path,
                   plot_name: Optional[str] = None) -> str:
    text = markdown(grid, records, plot_name)
    Path(path).write_text(text)
    return text
