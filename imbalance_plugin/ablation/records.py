"""One result per (variant, seed), and ``results.csv`` that holds them."""
import csv
import json
from dataclasses import asdict, dataclass, fields, make_dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from .metrics import METRICS

#: Values of :attr:`Record.status` and :attr:`Record.density`.
OK = 'ok'
FAILED = 'failed'
SKIPPED = 'skipped'
#: Values of :attr:`Record.failed_step`.
STEPS = ('train', 'test')


@dataclass
class _Run:
    variant: str
    seed: int
    status: str
    failed_step: str = ''


# A float field per metric, None by default, after the run's identity: the
# order of result.json's keys and results.csv's columns.
_RunMetrics = make_dataclass(
    '_RunMetrics', [(m, Optional[float], None) for m in METRICS],
    bases=(_Run,))


@dataclass
class Record(_RunMetrics):
    """The outcome of training and testing one variant with one seed.

    ``status`` is ``ok`` or ``failed``; a failed run names its
    ``failed_step`` (``train`` or ``test``) and ``log`` is that step's log
    (the training log of a run that finished). A field per metric of
    :data:`.metrics.METRICS` holds COCO box AP in percent, None where COCO
    has none; ``s_per_iter`` is seconds per training iteration;
    ``peak_mem_mb`` the training's peak memory in MB, measured as
    ``mem_source`` says: ``gpu`` (largest CUDA memory MMEngine logged) or
    ``rss`` (peak resident set size of the training process); ``wall_s``
    the seconds this run took in total.

    ``reused_from`` is empty for a run trained here, else the directory of
    the identical run (same resolved config, same seed) of another grid
    whose outcome this record copies (``tools/ablate.py --reuse``).

    ``density`` is the gradient-density analysis of the final checkpoint:
    empty when it was not asked for, else ``ok`` (its plots in
    ``density_path``), ``skipped`` (the tool does not analyse this
    detector: ``density_reason``) or ``failed`` (its log in
    ``density_path``).
    """
    s_per_iter: Optional[float] = None
    peak_mem_mb: Optional[float] = None
    mem_source: str = ''
    wall_s: Optional[float] = None
    log: str = ''
    reused_from: str = ''
    density: str = ''
    density_path: str = ''
    density_reason: str = ''

    def __post_init__(self):
        if self.status not in (OK, FAILED):
            raise ValueError(f'status must be {OK!r} or {FAILED!r}, got '
                             f'{self.status!r}')
        if self.failed_step not in ('',) + STEPS:
            raise ValueError(f'failed_step must be empty or one of {STEPS}, '
                             f'got {self.failed_step!r}')
        if self.density not in ('', OK, SKIPPED, FAILED):
            raise ValueError(
                f'density must be empty or one of {(OK, SKIPPED, FAILED)}, '
                f'got {self.density!r}')

    @property
    def ok(self) -> bool:
        return self.status == OK

    def outcome(self) -> str:
        """The run's outcome in a few words, for progress lines."""
        if not self.ok:
            return f'FAILED in {self.failed_step}, log: {self.log}'
        return 'AP n/a' if self.AP is None else f'AP {self.AP:.1f}'

    def density_outcome(self) -> str:
        """Where the gradient-density plots are, or why there are none."""
        if self.density == SKIPPED:
            return f'skipped: {self.density_reason}'
        if self.density == FAILED:
            return f'failed, log: {self.density_path}'
        return self.density_path

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> 'Record':
        """The record saved at ``path``.

        Raises:
            ValueError: the file has fields a record does not (one written
                by an older version, with ``gradient_density`` text).
        """
        raw = json.loads(Path(path).read_text())
        unknown = sorted(set(raw) - set(COLUMNS))
        if unknown:
            raise ValueError(f'{path}: unknown record fields {unknown}; '
                             f'a record has {COLUMNS}')
        return cls(**raw)


COLUMNS = [f.name for f in fields(Record)]
_FLOATS = {f.name for f in fields(Record)
           if f.type in ('Optional[float]', Optional[float])}


def write_csv(records: Iterable[Record], path: Path,
              values: Optional[Dict[str, Dict[str, str]]] = None,
              axes: Sequence[str] = ()) -> None:
    """One row per record: ``variant``, the variant's axis values (columns
    ``axes``, from ``values``: variant name -> axis -> value text), then the
    other :data:`COLUMNS`; missing values are empty cells."""
    values = values or {}
    header = ['variant', *axes] + COLUMNS[1:]
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        for record in records:
            row = {k: ('' if v is None else v)
                   for k, v in asdict(record).items()}
            mine = values.get(record.variant, {})
            row.update({a: mine.get(a, '') for a in axes})
            writer.writerow(row)


def read_csv(path: Path) -> List[Record]:
    """The records of a ``results.csv`` (axis value columns are left
    out: they belong to the grid)."""
    records = []
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            values = {}
            for key in COLUMNS:
                value = row[key]
                if key == 'seed':
                    values[key] = int(value)
                elif key in _FLOATS:
                    values[key] = float(value) if value != '' else None
                else:
                    values[key] = value
            records.append(Record(**values))
    return records
