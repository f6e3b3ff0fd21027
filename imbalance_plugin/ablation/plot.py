"""The PNG plot of a grid: mean AP per variant with standard-deviation error
bars, the baseline's AP as a line, published AP as markers."""
from pathlib import Path
from typing import Sequence

from .grid import Grid
from .records import Record
from .summary import summarize


def plot_ap(grid: Grid, records: Sequence[Record], path: Path) -> None:
    """Writes the bar chart to ``path`` (PNG). Failed variants get an empty
    slot labelled "failed"."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    summaries = summarize(grid, records)
    xs = list(range(len(summaries)))
    means = [s.mean['AP'] or 0.0 for s in summaries]
    errors = [s.std['AP'] or 0.0 for s in summaries]
    colors = ['tab:gray' if s.variant.baseline else 'tab:blue'
              for s in summaries]
    fig, ax = plt.subplots(figsize=(1.1 * len(xs) + 2.5, 4.0))
    ax.bar(xs, means, yerr=errors, capsize=4, color=colors)
    base = next(s for s in summaries if s.variant.baseline)
    if base.mean['AP'] is not None:
        ax.axhline(base.mean['AP'], color='tab:gray', linestyle='--',
                   linewidth=1, label='baseline')
    published = [(x, s.variant.published) for x, s in zip(xs, summaries)
                 if s.variant.published is not None]
    if published:
        ax.scatter([p[0] for p in published], [p[1] for p in published],
                   marker='D', color='tab:red', zorder=3, label='published')
    for x, s in zip(xs, summaries):
        if s.mean['AP'] is None:
            ax.text(x, 0, 'failed' if s.failed else 'not run', ha='center',
                    va='bottom', color='tab:red')
        else:
            top = s.mean['AP'] + (s.std['AP'] or 0.0)
            ax.text(x, top, f'{s.mean["AP"]:.1f}', ha='center', va='bottom',
                    fontsize=8)
    ax.set_xticks(xs)
    ax.set_xticklabels([s.variant.label for s in summaries], rotation=30,
                       ha='right')
    seeds = max((s.n for s in summaries), default=0)
    ax.set_ylabel('box AP (%)' + (f', mean ± std over {seeds} seeds'
                                  if seeds > 1 else ''))
    ax.set_title(grid.title)
    if base.mean['AP'] is not None or published:
        ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
