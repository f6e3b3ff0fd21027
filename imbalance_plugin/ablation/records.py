"""One result per (variant, seed), and ``results.csv`` that holds them."""
import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, List, Optional

OK = 'ok'
FAILED = 'failed'


@dataclass
class Record:
    """The outcome of training and testing one variant with one seed.

    AP columns are COCO box AP in percent; ``s_per_iter`` is seconds per
    training iteration; ``peak_mem_mb`` the training's peak memory in MB,
    measured as ``mem_source`` says: ``gpu`` (largest CUDA memory MMEngine
    logged) or ``rss`` (peak resident set size of the training process);
    ``wall_s`` the seconds this run took in total; ``log`` the log to read
    (the failing step's log for a failed run); ``gradient_density`` where the
    gradient-density analysis of the final checkpoint is (its directory,
    ``skipped: <reason>`` or ``failed, log: <log>``), empty when it was not
    asked for.
    """
    variant: str
    seed: int
    status: str
    AP: Optional[float] = None
    AP50: Optional[float] = None
    AP75: Optional[float] = None
    APs: Optional[float] = None
    APm: Optional[float] = None
    APl: Optional[float] = None
    s_per_iter: Optional[float] = None
    peak_mem_mb: Optional[float] = None
    mem_source: str = ''
    wall_s: Optional[float] = None
    log: str = ''
    gradient_density: str = ''

    @property
    def ok(self) -> bool:
        return self.status == OK

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> 'Record':
        return cls(**json.loads(Path(path).read_text()))


COLUMNS = [f.name for f in fields(Record)]
_FLOATS = {f.name for f in fields(Record)
           if f.type in ('Optional[float]', Optional[float])}


def write_csv(records: Iterable[Record], path: Path) -> None:
    """One row per record, columns in :data:`COLUMNS` order; missing values
    are empty cells."""
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for record in records:
            row = asdict(record)
            writer.writerow({k: ('' if v is None else v)
                             for k, v in row.items()})


def read_csv(path: Path) -> List[Record]:
    records = []
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            values = {}
            for key, value in row.items():
                if key == 'seed':
                    values[key] = int(value)
                elif key in _FLOATS:
                    values[key] = float(value) if value != '' else None
                else:
                    values[key] = value
            records.append(Record(**values))
    return records
