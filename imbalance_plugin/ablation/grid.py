"""Experiment grids: named lists of variants, one config file each.

A grid is a Python file of plain data, read with MMEngine's ``Config``::

    title = 'RetinaNet on the toy set'
    cfg_options = {}                     # optional, applied to every variant
    variants = [
        dict(name='focal', config='configs/toy/retinanet_focal_toy.py',
             label='Focal Loss', baseline=True, published=36.5),
        ...
    ]

``name`` names the variant's work directory and its rows in ``results.csv``;
``label`` is what the table and plot show; exactly one variant is the
``baseline`` that the table's delta AP is taken against; ``published`` is an
optional reference box AP (in percent) shown beside the measured one.

The built-in grids are the files in ``imbalance_plugin/ablation/grids/``; a
user adds one by dropping a file there or by passing the file's path to
``tools/ablate.py``. Config paths are resolved against the grid file's
directory first, then the project root.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

GRIDS_DIR = Path(__file__).resolve().parent / 'grids'
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
_VARIANT_KEYS = {'name', 'config', 'label', 'baseline', 'published',
                 'cfg_options'}


@dataclass(frozen=True)
class Variant:
    """One row of a grid: a method config and how the table labels it."""
    name: str
    config: Path
    label: str
    baseline: bool = False
    published: Optional[float] = None
    cfg_options: Dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Grid:
    """A named list of variants, exactly one of them the baseline."""
    name: str
    title: str
    variants: Tuple[Variant, ...]
    source: Path
    cfg_options: Dict[str, object] = field(default_factory=dict)

    @property
    def baseline(self) -> Variant:
        return next(v for v in self.variants if v.baseline)

    @property
    def has_published(self) -> bool:
        return any(v.published is not None for v in self.variants)


def available_grids() -> Dict[str, Path]:
    """Built-in grid names and their files."""
    return {p.stem: p for p in sorted(GRIDS_DIR.glob('*.py'))
            if not p.stem.startswith('_')}


def _resolve_config(config: str, grid_file: Path) -> Path:
    path = Path(config).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [grid_file.parent / path, PROJECT_ROOT / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise ValueError(
        f'grid {grid_file}: config {config!r} not found (looked at '
        f'{", ".join(str(c) for c in candidates)})')


def _variant(raw, grid_file: Path) -> Variant:
    if not isinstance(raw, dict):
        raise ValueError(f'grid {grid_file}: each variant must be a dict, '
                         f'got {raw!r}')
    unknown = set(raw) - _VARIANT_KEYS
    if unknown:
        raise ValueError(
            f'grid {grid_file}: unknown variant keys {sorted(unknown)}; '
            f'allowed: {sorted(_VARIANT_KEYS)}')
    for key in ('name', 'config'):
        if key not in raw:
            raise ValueError(f'grid {grid_file}: a variant has no {key!r}')
    name = str(raw['name'])
    if not _NAME.match(name):
        raise ValueError(
            f'grid {grid_file}: variant name {name!r} must be letters, '
            'digits, "_", "-" or "." (it names a directory)')
    published = raw.get('published')
    return Variant(
        name=name,
        config=_resolve_config(str(raw['config']), grid_file),
        label=str(raw.get('label', name)),
        baseline=bool(raw.get('baseline', False)),
        published=None if published is None else float(published),
        cfg_options=dict(raw.get('cfg_options') or {}))


def load_grid(name_or_path: str) -> Grid:
    """The grid of that built-in name, or the grid in that file.

    Raises:
        ValueError: no such grid, or the grid is malformed (no variants,
            duplicate names, not exactly one baseline, missing configs).
    """
    from mmengine.config import Config

    grids = available_grids()
    if name_or_path in grids:
        path = grids[name_or_path]
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ValueError(
                f'grid: {name_or_path!r} is neither a built-in grid '
                f'({", ".join(grids)}) nor a grid file')
    path = path.resolve()
    raw = Config.fromfile(str(path)).to_dict()
    variants = tuple(_variant(v, path) for v in raw.get('variants') or ())
    if not variants:
        raise ValueError(f'grid {path}: "variants" is missing or empty')
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'grid {path}: duplicate variant names {duplicates}')
    baselines = [v.name for v in variants if v.baseline]
    if len(baselines) != 1:
        raise ValueError(
            f'grid {path}: exactly one variant must have baseline=True, '
            f'got {baselines or "none"}')
    return Grid(
        name=path.stem,
        title=str(raw.get('title', path.stem)),
        variants=variants,
        source=path,
        cfg_options=dict(raw.get('cfg_options') or {}))
