"""The whole ``results.md``: the title, the table (:mod:`.columns`), and
the prose under it: what the columns mean, the sources, the failed runs,
the reused runs, the gradient-density plots and the plot."""
from typing import Optional, Sequence

from .columns import also_sources, table
from .grid import Grid
from .records import OK, Record
from .rows import rows

#: How the notes name each way of measuring memory (Record.mem_source).
_MEMORY = {'gpu': 'peak CUDA memory logged by MMEngine',
           'rss': 'peak resident memory of the training process'}


def markdown(grid: Grid, records: Sequence[Record],
             plot_name: Optional[str] = None) -> str:
    """The whole ``results.md``: title, table, notes on the columns and the
    sources, the failed runs with their logs, the runs reused from other
    grids, the gradient-density plots,
    and the plot (``plot_name``, if given)."""
    table_rows = rows(grid, records)
    lines = [f'# {grid.title}', ''] + table(grid, table_rows)
    sources = sorted({r.mem_source for r in records if r.ok and r.mem_source})
    lines += [
        '',
        'COCO box AP in percent on the test split, mean ± sample standard '
        'deviation over the seeds that finished; ΔAP: mean AP minus the '
        'baseline row\'s' + (' (or the row named in the grid\'s `against`)'
                              if any(v.against for v in grid.variants)
                              else '') + '; s/iter is the median training '
        'iteration time; '
        'Mem is the '
        + (' / '.join(_MEMORY.get(s, s) for s in sources) or 'peak memory')
        + '.',
    ]
    if grid.has_published:
        lines.append(
            'Pub.: the published values; Pub. ΔAP: published AP minus the '
            'published AP of the baseline of the same source; AP − Pub.: '
            'measured mean AP minus published AP'
            + ('; <source> AP: the AP a further source gives for the row, '
               'in brackets its delta against the baseline of that source'
               if also_sources(grid) else '') + '. Published:')
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
    reused = [r for row in table_rows for r in row.ok if r.reused_from]
    if reused:
        lines += ['', 'Reused runs (not trained for this grid: another '
                  'grid\'s run of the same config, after the overrides, '
                  'with the same seed):', '']
        lines += [f'- {r.variant} seed {r.seed}: `{r.reused_from}`'
                  for r in reused]
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
