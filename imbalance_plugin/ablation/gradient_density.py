"""``tools/ablate.py --gradient-density``: the gradient-density diagnostics
attached to every run of a grid.

- training: the variant's config with ``GradientDensityHook(interval)``
  appended to its ``custom_hooks``, written into the run directory as a
  config inheriting the variant's (``--cfg-options`` cannot add a dict to a
  list), so that the stock ``tools/train.py`` trains it, resumes included;
- after the test: ``tools/analyze_gradient_density.py`` on the variant's
  config and final checkpoint, into ``<run dir>/gradient_density/``.

The analysis is resumable on its own: it is done when the tool's last file
(``summary.json``) or a ``skipped.txt`` is there. A detector the tool does
not analyse (no dense anchor head, e.g. Faster R-CNN) is recorded as
skipped with the tool's reason; that is not a failure of the run.
"""
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..diagnostics.hook_config import write_config_with_hook
from ..utils.settings import check_int
from .launch import UNSUPPORTED_DETECTOR, Launch, execute
from .records import FAILED, OK, SKIPPED, Record

#: Output directory of the analysis inside a run directory.
OUT_DIR = 'gradient_density'
#: Directory of the training config with the hook inside a run directory.
HOOK_CONFIG_DIR = 'hook_config'
#: The tool writes it last: its presence means the analysis finished.
DONE = 'summary.json'
SKIPPED_FILE = 'skipped.txt'
LOG = 'gradient_density.log'


@dataclass(frozen=True)
class GradientDensity:
    """What ``--gradient-density`` asks for: the hook's logging interval
    (training iterations) and the images the analysis looks at."""
    interval: int
    num_images: int = 8

    def __post_init__(self):
        check_int(self.interval, 'interval')
        check_int(self.num_images, 'num_images')


def training_config(config: Path, run_dir: Path, interval: int) -> Path:
    """Writes ``<run_dir>/hook_config/<config name>`` (``config`` plus the
    hook) and returns its path. Keeping the file name keeps the name of the
    config MMEngine dumps into the work directory."""
    path = Path(run_dir) / HOOK_CONFIG_DIR / Path(config).name
    return Path(write_config_with_hook(str(config), str(path), interval))


def outcome(run_dir: Path) -> Optional[dict]:
    """The analysis's outcome in ``run_dir`` as :class:`Record` fields
    (``density``, ``density_path``, ``density_reason``) if it has one; None
    when it is still to run."""
    out_dir = Path(run_dir) / OUT_DIR
    if (out_dir / DONE).is_file():
        return dict(density=OK, density_path=str(out_dir),
                    density_reason='')
    if (out_dir / SKIPPED_FILE).is_file():
        return dict(density=SKIPPED, density_path='',
                    density_reason=(out_dir / SKIPPED_FILE).read_text()
                    .strip())
    return None


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return next((line for line in reversed(lines) if line), '')


def analyze(config: Path, checkpoint: str, run_dir: Path, launch: Launch,
            settings: GradientDensity,
            cfg_options: Sequence[str] = ()) -> dict:
    """Runs the analysis of ``checkpoint`` unless ``run_dir`` already has
    its outcome; returns the outcome (see :func:`outcome`), ``failed`` with
    the log as ``density_path`` when the tool failed (it runs again next
    time)."""
    done = outcome(run_dir)
    if done is not None:
        return done
    out_dir = Path(run_dir) / OUT_DIR
    log = Path(run_dir) / LOG
    code, _ = execute(launch.gradient_density(
        config, checkpoint, out_dir, settings.num_images, cfg_options), log)
    if code == UNSUPPORTED_DETECTOR:
        reason = _last_line(log)
        prefix = f'{config}: '
        reason = reason[len(prefix):] if reason.startswith(prefix) else reason
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / SKIPPED_FILE).write_text(reason + '\n')
    elif code != 0 or not (out_dir / DONE).is_file():
        with open(log, 'a') as file:
            file.write(f'{time.strftime("%F %T")} exit status {code}\n')
        return dict(density=FAILED, density_path=str(log.resolve()),
                    density_reason=f'exit status {code}')
    return outcome(run_dir)


def analyze_run(record: Record, config: Path, checkpoint: str,
                run_dir: Path, launch: Launch, settings: GradientDensity,
                cfg_options: Sequence[str] = ()) -> Record:
    """The finished run's ``record`` with the analysis of its final
    ``checkpoint`` done (or found done) and its outcome in the record's
    ``density`` fields. A failed run is returned as it is."""
    if not record.ok:
        return record
    return dataclasses.replace(record, **analyze(
        config, checkpoint, run_dir, launch, settings, cfg_options))
