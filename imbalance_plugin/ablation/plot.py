"""The PNG plot of a grid: mean AP per variant with standard-deviation error
bars, the baseline's AP as a dashed line, published AP as diamonds. The AP
axis spans the values shown (not from 0), so that differences of a point or
less stay visible."""
from pathlib import Path
from typing import Sequence

from .grid import Grid
from .records import Record
from .summary import summarize


def plot_ap(grid: Grid, records: Sequence[Record], path: Path) -> None:
    """Writes the plot to ``path`` (PNG). Variants without a successful run
    are marked "failed" or "not run" at the bottom."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    summaries = summarize(grid, records)
    fig, ax = plt.subplots(figsize=(1.2 * len(summaries) + 2.5, 4.2))
    values = []
    for x, s in enumerate(summaries):
        mean, std = s.mean['AP'], s.std['AP'] or 0.0
        if mean is None:
            continue
        color = 'tab:gray' if s.variant.baseline else 'tab:blue'
        ax.errorbar([x], [mean], yerr=[std], fmt='o', color=color,
                    capsize=5, markersize=7)
        ax.annotate(f'{mean:.1f}', (x, mean), xytext=(8, 0),
                    textcoords='offset points', va='center', fontsize=8)
        values += [mean - std, mean + std]
    published = [(x, s.variant.published) for x, s in enumerate(summaries)
                 if s.variant.published is not None]
    if published:
        ax.scatter([p[0] for p in published], [p[1] for p in published],
                   marker='D', facecolors='none', edgecolors='tab:red',
                   zorder=3, label='published')
        values += [p[1] for p in published]
    base = next(s for s in summaries if s.variant.baseline)
    if base.mean['AP'] is not None:
        ax.axhline(base.mean['AP'], color='tab:gray', linestyle='--',
                   linewidth=1, label='baseline')
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = max(0.5, 0.15 * (high - low))
    ax.set_ylim(low - 2 * pad, high + pad)
    for x, s in enumerate(summaries):
        if s.mean['AP'] is None:
            ax.text(x, low - 1.5 * pad, 'failed' if s.failed else 'not run',
                    ha='center', va='center', color='tab:red')
    ax.set_xlim(-0.6, len(summaries) - 0.4)
    ax.set_xticks(range(len(summaries)))
    ax.set_xticklabels([s.variant.label for s in summaries], rotation=30,
                       ha='right')
    seeds = max((s.n for s in summaries), default=0)
    ax.set_ylabel('box AP (%)' + (f'\nmean ± std over {seeds} seeds'
                                  if seeds > 1 else ''))
    ax.set_title(grid.title)
    ax.grid(axis='y', alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc='best', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
