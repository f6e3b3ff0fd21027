"""The COCO box metrics (:data:`METRICS`, the one list of them) and
reading a finished run: those metrics from what ``tools/test.py`` writes,
speed and memory from the training's ``scalars.json`` log."""
import json
import statistics
from pathlib import Path
from typing import Dict, Optional, Tuple

#: The COCO box metrics, declared here once: each name (a field of a run's
#: record, a column of results.csv and results.md, a key of a grid's
#: published entries; values in percent) -> the key of mmdet's CocoMetric
#: it is read from (values in [0, 1]).
COCO_KEYS = {
    'AP': 'coco/bbox_mAP',
    'AP50': 'coco/bbox_mAP_50',
    'AP75': 'coco/bbox_mAP_75',
    'APs': 'coco/bbox_mAP_s',
    'APm': 'coco/bbox_mAP_m',
    'APl': 'coco/bbox_mAP_l',
}
METRICS = tuple(COCO_KEYS)
#: Those results.md shows with their spread over the seeds and their
#: published values; the others (by object size) it shows as means.
MAIN_METRICS = METRICS[:3]
SIZE_METRICS = METRICS[3:]


def _latest_mmengine_metrics(test_work_dir: Path) -> Optional[Path]:
    """MMEngine's own metrics file of the latest test run:
    ``<work_dir>/<timestamp>/<timestamp>.json``."""
    found = sorted(p for p in Path(test_work_dir).glob('*/*.json')
                   if p.stem == p.parent.name)
    return found[-1] if found else None


def coco_metrics(
        metrics_json: Path,
        test_work_dir: Optional[Path] = None) -> Dict[str, Optional[float]]:
    """COCO box AP columns, in percent, of one tested checkpoint.

    Reads ``metrics_json`` (``tools/test.py --metrics-json``), or, if it is
    absent, the latest metrics file MMEngine wrote into ``test_work_dir``.
    mmdet's CocoMetric returns no metrics at all when the detector made no
    detection on the whole test set: that is an AP of 0 everywhere. COCO's
    -1 (no ground truth in that size range, e.g. APl on small objects)
    becomes None.

    Raises:
        FileNotFoundError: neither file exists.
        KeyError: the file holds no COCO box metrics.
    """
    path = Path(metrics_json)
    if not path.is_file() and test_work_dir is not None:
        path = _latest_mmengine_metrics(Path(test_work_dir)) or path
    if not path.is_file():
        raise FileNotFoundError(f'no test metrics at {metrics_json}')
    raw = json.loads(path.read_text())
    if not raw:
        return {col: 0.0 for col in COCO_KEYS}
    missing = [k for k in COCO_KEYS.values() if k not in raw]
    if missing:
        raise KeyError(f'{path}: no {", ".join(missing)} among '
                       f'{sorted(raw)}')
    return {col: (100.0 * float(raw[key]) if float(raw[key]) >= 0 else None)
            for col, key in COCO_KEYS.items()}


def training_scalars(work_dir: Path):
    """Training log lines (dicts) of every run in ``work_dir``, oldest first;
    a resumed run contributes one ``<timestamp>/vis_data/scalars.json`` per
    session."""
    lines = []
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            line = line.strip()
            if line:
                lines.append(json.loads(line))
    return [d for d in lines if 'loss' in d and 'time' in d]


def training_speed_memory(
        work_dir: Path) -> Tuple[Optional[float], Optional[float]]:
    """(seconds per training iteration, peak GPU memory in MB).

    Seconds per iteration is the median of the logged ``time`` values (each
    a moving average over the logger's window), robust to the warm-up and to
    the iterations slowed by evaluation. Memory is the largest logged
    ``memory`` (MMEngine logs it on CUDA only), else None.
    """
    lines = training_scalars(work_dir)
    if not lines:
        return None, None
    seconds = statistics.median(float(d['time']) for d in lines)
    memory = [float(d['memory']) for d in lines if 'memory' in d]
    return seconds, (max(memory) if memory else None)
