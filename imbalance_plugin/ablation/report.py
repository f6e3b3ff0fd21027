"""The outputs of a grid in its directory: ``results.csv`` (one row per
run, :mod:`.records`), ``results.md`` (one row per variant, in the paper's
layout: :mod:`.rows`, :mod:`.columns`, :mod:`.prose`) and ``results.png``
(:mod:`.plot`)."""
import math
from pathlib import Path
from typing import Sequence

from .grid import Grid
from .plot import plot
from .prose import markdown
from .records import Record, write_csv

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
    records = sorted(records, key=lambda r: (order.get(r.variant, math.inf),
                                             r.seed))
    write_csv(records, grid_dir / CSV,
              {v.name: v.value_labels for v in grid.variants}, grid.axes)
    plot(grid, records, grid_dir / PLOT)
    text = markdown(grid, records, PLOT)
    (grid_dir / MARKDOWN).write_text(text)
    return text
