"""Experiment grids: rows of a paper's table as variants of config files.

A grid is a Python file of plain data, read with MMEngine's ``Config``::

    title = "Focal Loss paper, Table 1b: gamma and alpha"
    sources = dict(paper='Lin et al., ICCV 2017, arXiv 1708.02002, Table 1b')
    cfg_options = {}                # optional, applied to every variant
    variants = [
        # one row per method ...
        dict(name='ce', label='CE', config='configs/.../ce.py',
             published=dict(AP=31.1, AP50=49.4, AP75=33.0)),
        # ... or one row per cell of axes over a config key
        dict(config='configs/.../focal.py', combine='zip',
             axes=[dict(name='gamma', key='model.bbox_head.loss_cls.gamma',
                        values=[0.0, 2.0]),
                   dict(name='alpha', key='model.bbox_head.loss_cls.alpha',
                        values=[0.75, 0.25])],
             baseline=dict(gamma=2.0, alpha=0.25),
             published=[dict(gamma=2.0, alpha=0.25, AP=34.0)]),
    ]

Its entries are the frozen dataclasses of :mod:`.grid_file`, each checking
itself and saying what its keys mean. :func:`load_grid` reads them into a
:class:`Grid` of :class:`Variant` rows, each with its published metrics;
an error names the file, the entry (``variants[2].axes[0]``), the key and
what it allows.

A published delta is taken against the baseline of the same source: the
published metrics of the row the variant compares with when they come from
that source, else the source's own ``baseline`` metrics (a baseline the
grid does not train, such as one trained with another version of the
code). A row may carry the numbers of several sources (a paper's table and
the README of its code): its first entry is its main published value
(``published``), the others its ``also_published``, each compared with the
baseline of its own source.

The built-in grids are the files in ``imbalance_plugin/ablation/grids/``;
a user adds one by dropping a file there or by passing the file's path to
``tools/ablate.py``. Config paths are resolved against the grid file's
directory first, then the project root.
"""
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..utils.settings import from_cfg
from .grid_file import (
    GridFile,
    Published,
    Source,
    VariantEntry,
    check_name,
)

GRIDS_DIR = Path(__file__).resolve().parent / 'grids'
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Variant:
    """One row of a grid: a config, its overrides and how the table shows
    it. ``method`` is the label of the variant entry it came from and
    ``values`` its axis values (name -> value) when it is a cell of axes;
    ``value_labels`` the same values as the table prints them.
    ``published`` is its main published entry, ``also_published`` those of
    further sources."""
    name: str
    config: Path
    label: str
    baseline: bool = False
    published: Optional[Published] = None
    cfg_options: Dict[str, object] = field(default_factory=dict)
    method: str = ''
    values: Dict[str, object] = field(default_factory=dict)
    value_labels: Dict[str, str] = field(default_factory=dict)
    against: str = ''
    also_published: Tuple[Published, ...] = ()

    def published_from(self, source: str) -> Optional[Published]:
        """This row's published entry from ``source``, or None."""
        entries = ((self.published,) if self.published else ()) + \
            self.also_published
        return next((p for p in entries if p.source == source), None)


@dataclass(frozen=True)
class Grid:
    """Variants, exactly one of them the baseline, and the sources of their
    published metrics."""
    name: str
    title: str
    variants: Tuple[Variant, ...]
    file: Path
    cfg_options: Dict[str, object] = field(default_factory=dict)
    sources: Dict[str, Source] = field(default_factory=dict)

    @property
    def baseline(self) -> Variant:
        return next(v for v in self.variants if v.baseline)

    @property
    def has_published(self) -> bool:
        return any(v.published is not None for v in self.variants)

    @property
    def axes(self) -> List[str]:
        """Axis names of all variants, in order of first appearance."""
        names = []
        for variant in self.variants:
            names += [n for n in variant.values if n not in names]
        return names

    def reference(self, variant: Variant) -> Variant:
        """The row ``variant`` compares with: its ``against``; itself when
        another row compares with it (it is a baseline of its own); else
        the grid's baseline."""
        if variant.against:
            return next(v for v in self.variants if v.name == variant.against)
        if any(v.against == variant.name for v in self.variants):
            return variant
        return self.baseline

    def published_reference(self, variant: Variant,
                            published: Optional[Published] = None
                            ) -> Optional[Dict[str, float]]:
        """The published metrics that ``published`` (one of
        ``variant``'s entries, by default its main one) is compared with:
        the entry of the same source of the row ``variant`` compares with,
        else that source's own ``baseline``, else None."""
        published = published or variant.published
        if published is None:
            return None
        ref = self.reference(variant).published_from(published.source)
        if ref is not None:
            return ref.metrics
        source = self.sources.get(published.source)
        return None if source is None else source.baseline

    def published_delta(self, variant: Variant, metric: str = 'AP',
                        published: Optional[Published] = None
                        ) -> Optional[float]:
        """``published``'s ``metric`` (an entry of ``variant``, by default
        its main one) minus that of the baseline of its source
        (:meth:`published_reference`); None for the row it compares with
        itself or when either value is missing."""
        published = published or variant.published
        if self.reference(variant) is variant or published is None:
            return None
        base = self.published_reference(variant, published)
        if base is None or metric not in base or \
                metric not in published.metrics:
            return None
        return published.metrics[metric] - base[metric]


def available_grids() -> Dict[str, Path]:
    """Built-in grid names and their files."""
    return {p.stem: p for p in sorted(GRIDS_DIR.glob('*.py'))
            if not p.stem.startswith('_')}


def _resolve_config(config: str, grid_file: Path, where: str) -> Path:
    path = Path(config).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [grid_file.parent / path, PROJECT_ROOT / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise ValueError(f'{where} {config!r} not found (looked at '
                     f'{", ".join(str(c) for c in candidates)})')


def _variants(entry: VariantEntry, config: Path,
              sources: Dict[str, Source], where: str) -> List[Variant]:
    """The rows of one entry of ``variants`` (at ``where``)."""
    axes = entry.axes or ()
    published = entry.published_by_cell(sources, where)
    method = entry.label or ''
    if not axes:
        method = entry.name if entry.label is None else entry.label
    base = entry.cell_of(entry.baseline, 'baseline') \
        if isinstance(entry.baseline, Mapping) else None
    variants = []
    for index, pick in enumerate(entry.cells()):
        values = {a.name: a.values[i] for a, i in zip(axes, pick)}
        labels = {a.name: a.shown[i] for a, i in zip(axes, pick)}
        name, label = entry.name, method
        if axes:
            name = '_'.join(([entry.name] if entry.name else [])
                            + [f'{n}{shown}' for n, shown in labels.items()])
            check_name(name, f'{where}: the cell name')
            shown = ','.join(f'{n}={shown}' for n, shown in labels.items())
            label = f'{method} {shown}' if method else shown
        options = dict(entry.cfg_options)
        options.update({a.key: a.values[i] for a, i in zip(axes, pick)})
        variants.append(Variant(
            name=name, config=config, label=label,
            baseline=entry.baseline is True or index == base,
            published=published[index][0] if published[index] else None,
            also_published=tuple(published[index][1:]),
            cfg_options=options, method=method, values=values,
            value_labels=labels, against=entry.against or ''))
    return variants


def _grid(path: Path, file: GridFile) -> Grid:
    """The grid of the checked entries of the file at ``path``."""
    variants = tuple(
        v for i, entry in enumerate(file.variants)
        for v in _variants(entry, _resolve_config(
            entry.config, path, f'variants[{i}].config'), file.sources,
            f'variants[{i}]'))
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'variants: duplicate variant names {duplicates}')
    baselines = [v.name for v in variants if v.baseline]
    if len(baselines) != 1:
        raise ValueError(
            'variants: exactly one variant (or cell) must be the baseline, '
            f'got {baselines or "none"}')
    for i, entry in enumerate(file.variants):
        if entry.against is not None and (entry.against not in names
                                          or entry.against == entry.name):
            raise ValueError(
                f'variants[{i}].against {entry.against!r} must name another '
                f'variant of the grid ({names})')
    return Grid(name=path.stem, title=file.title or path.stem,
                variants=variants, file=path, cfg_options=file.cfg_options,
                sources=file.sources)


def load_grid(name_or_path: str) -> Grid:
    """The grid of that built-in name, or the grid in that file.

    Raises:
        ValueError: no such grid, or the grid is malformed (unknown keys, no
            variants, duplicate names, not exactly one baseline, missing
            configs, axes that do not combine, published values for cells
            that do not exist or from sources the grid does not name); the
            message names the file, the entry and the key.
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
    try:
        return _grid(path, from_cfg(
            GridFile, {k: v for k, v in raw.items() if not k.startswith('_')},
            ''))
    except ValueError as error:
        raise ValueError(f'grid {path}: {error}') from None
