"""The outputs of a grid in its directory: ``results.csv``, ``results.md``
and ``results.png``."""
from pathlib import Path
from typing import Sequence

from .grid import Grid
from .plot import plot_ap
from .records import Record, write_csv
from .table import write_markdown

CSV = 'results.csv'
MARKDOWN = 'results.md'
PLOT = 'results.png'


def write_report(grid: Grid, records: Sequence[Record],
                 grid_dir: Path) -> str:
    """Writes the three files (rows in grid order, then by seed); returns
    the markdown text."""
    grid_dir = Path(grid_dir)
    grid_dir.mkdir(parents=True, exist_ok=True)
    order = {v.name: i for i, v in enumerate(grid.variants)}
    records = sorted(records, key=lambda r: (order.get(r.variant, 1 << 30),
                                             r.seed))
    write_csv(records, grid_dir / CSV)
    plot_ap(grid, records, grid_dir / PLOT)
    return write_markdown(grid, records, grid_dir / MARKDOWN, PLOT)
