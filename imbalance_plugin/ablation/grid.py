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

A variant with ``axes`` stands for one variant per cell: the product of
the axes' values (``combine='product'``, the default) or their values taken
side by side (``'zip'``, for a paper that pairs them). A cell's overrides
set each axis's ``key`` (dotted, as ``--cfg-options`` takes it) to its
value; its name and label show the values (``gamma2_alpha0.25``,
``gamma=2,alpha=0.25``, after the variant's ``label`` if it has one). An
axis's optional ``labels`` name its values where they are not short
numbers (anchor ratios ``[0.5, 1.0, 2.0]`` shown as ``3``).

``name`` names a variant's work directory and its rows in ``results.csv``.
Exactly one variant (``baseline=True``) or one cell (``baseline`` giving
its axis values) is the baseline that deltas are taken against; a variant
that compares with another row instead (a grid of several detectors, each
with and without a method) names it: ``against='ssd300'``.

``published`` holds a source's metrics (``AP``, ``AP50``, ``AP75`` and the
other COCO columns, in percent) for a variant, or, for axes, a list of them
each naming its cell by its axis values. ``sources`` names where the numbers
come from (a paper and table, or a README); where it lists more than one,
each published entry names its ``source``. A published delta is taken
against the baseline of the same source: the published metrics of the row
the variant compares with when they come from that source, else the
source's own ``baseline`` metrics (a baseline the grid does not train, such
as one trained with another version of the code).

A row may carry the numbers of several sources (a paper's table and the
README of its code): ``published`` is then a list of entries, one per
source, each naming its ``source`` (for axes, a cell may be named once per
source). The first is the row's main published value (``published``), the
others its ``also_published``; each delta is taken against the baseline of
its own source.

The built-in grids are the files in ``imbalance_plugin/ablation/grids/``;
a user adds one by dropping a file there or by passing the file's path to
``tools/ablate.py``. Config paths are resolved against the grid file's
directory first, then the project root.
"""
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

GRIDS_DIR = Path(__file__).resolve().parent / 'grids'
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Metrics a published entry may give (the results.csv AP columns).
METRICS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl')
COMBINE = ('product', 'zip')
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
_GRID_KEYS = {'title', 'sources', 'cfg_options', 'variants'}
_VARIANT_KEYS = {'name', 'config', 'label', 'baseline', 'published',
                 'cfg_options', 'axes', 'combine', 'against'}
_AXIS_KEYS = {'name', 'key', 'values', 'labels'}
_SOURCE_KEYS = {'cite', 'baseline'}


@dataclass(frozen=True)
class Source:
    """Where published numbers come from (``cite``), and the metrics of
    the baseline they were measured against where no row of the grid
    carries them from this source (``baseline``)."""
    key: str
    cite: str
    baseline: Optional[Dict[str, float]] = None


@dataclass(frozen=True)
class Published:
    """Published metrics of one variant, from one source."""
    source: str
    metrics: Dict[str, float]


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


def _check_keys(raw, allowed, what: str, where: Path) -> None:
    if not isinstance(raw, dict):
        raise ValueError(f'grid {where}: each {what} must be a dict, got '
                         f'{raw!r}')
    unknown = set(raw) - allowed
    if unknown:
        raise ValueError(f'grid {where}: unknown {what} keys '
                         f'{sorted(unknown)}; allowed: {sorted(allowed)}')


def _check_name(name: str, where: Path) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f'grid {where}: variant name {name!r} must be letters, digits, '
            '"_", "-" or "." (it names a directory)')
    return name


def value_text(value) -> str:
    """How a cell's name and label show an axis value: ``2.0`` -> ``2``,
    ``0.25`` -> ``0.25``, ``None`` -> ``None``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f'{value:g}'
    if isinstance(value, (list, tuple)):
        return '-'.join(value_text(v) for v in value)
    return str(value)


def _sources(raw, where: Path) -> Dict[str, Source]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f'grid {where}: sources must be a dict of source '
                         f'name -> citation, got {raw!r}')
    sources = {}
    for key, spec in raw.items():
        if isinstance(spec, str):
            spec = dict(cite=spec)
        _check_keys(spec, _SOURCE_KEYS, 'source', where)
        if 'cite' not in spec:
            raise ValueError(f'grid {where}: source {key!r} has no "cite"')
        baseline = spec.get('baseline')
        sources[key] = Source(
            key=str(key), cite=str(spec['cite']),
            baseline=None if baseline is None else _metrics(
                baseline, where, f'source {key!r} baseline'))
    return sources


def _metrics(raw, where: Path, what: str) -> Dict[str, float]:
    unknown = set(raw) - set(METRICS)
    if unknown:
        raise ValueError(f'grid {where}: {what}: unknown metrics '
                         f'{sorted(unknown)}; allowed: {list(METRICS)}')
    return {k: float(raw[k]) for k in METRICS if raw.get(k) is not None}


def _published(raw, sources: Dict[str, Source], where: Path,
               extra=()) -> Optional[Published]:
    """A published entry: a number (AP) or a dict of metrics, with
    ``source`` where the grid has several sources; ``extra`` names keys it
    may carry besides (a cell's axis values)."""
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = dict(AP=raw)
    if not isinstance(raw, dict):
        raise ValueError(f'grid {where}: published must be a number (AP) '
                         f'or a dict of metrics, got {raw!r}')
    raw = {k: v for k, v in raw.items() if k not in extra}
    source = raw.pop('source', None)
    if source is None:
        if len(sources) > 1:
            raise ValueError(
                f'grid {where}: published {raw!r} must name its source, '
                f'one of {sorted(sources)}')
        source = next(iter(sources), '')
    elif source not in sources:
        raise ValueError(f'grid {where}: published source {source!r} is '
                         f'not among the grid\'s sources {sorted(sources)}')
    metrics = _metrics(raw, where, 'published')
    return Published(source=str(source), metrics=metrics) if metrics \
        else None


def _add_entry(entries: List[Published], entry: Optional[Published],
               what: str, where: Path) -> None:
    """Appends ``entry`` (if any) to one row's entries, one per source."""
    if entry is None:
        return
    if any(e.source == entry.source for e in entries):
        raise ValueError(f'grid {where}: two published entries for {what} '
                         f'from source {entry.source!r}')
    entries.append(entry)


def _row(entries: List[Published]) -> dict:
    """A row's ``published`` (the first entry) and ``also_published``."""
    return dict(published=entries[0] if entries else None,
                also_published=tuple(entries[1:]))


def _axes_cells(raw, where: Path) -> Tuple[List[dict], List[dict]]:
    """The axes of a variant entry and its cells, each cell a dict
    ``name -> (key, value, label)`` in axis order."""
    axes = raw['axes']
    if not isinstance(axes, (list, tuple)) or not axes:
        raise ValueError(f'grid {where}: axes must be a non-empty list of '
                         f'dict(name=..., key=..., values=[...]), got '
                         f'{axes!r}')
    parsed = []
    for axis in axes:
        _check_keys(axis, _AXIS_KEYS, 'axis', where)
        for key in ('name', 'key', 'values'):
            if key not in axis:
                raise ValueError(f'grid {where}: an axis has no {key!r}')
        values = list(axis['values'])
        if not values:
            raise ValueError(f'grid {where}: axis {axis["name"]!r} has no '
                             'values')
        labels = axis.get('labels')
        if labels is None:
            labels = [value_text(v) for v in values]
        labels = [str(label) for label in labels]
        if len(labels) != len(values):
            raise ValueError(
                f'grid {where}: axis {axis["name"]!r} has {len(values)} '
                f'values but {len(labels)} labels')
        parsed.append(dict(name=str(axis['name']), key=str(axis['key']),
                           values=values, labels=labels))
    names = [a['name'] for a in parsed]
    if len(set(names)) != len(names):
        raise ValueError(f'grid {where}: duplicate axis names {names}')
    combine = raw.get('combine', 'product')
    if combine not in COMBINE:
        raise ValueError(f'grid {where}: combine must be one of {COMBINE}, '
                         f'got {combine!r}')
    indices = [range(len(a['values'])) for a in parsed]
    if combine == 'zip':
        lengths = {len(a['values']) for a in parsed}
        if len(lengths) != 1:
            raise ValueError(
                f'grid {where}: combine="zip" needs axes of one length, got '
                f'{ {a["name"]: len(a["values"]) for a in parsed} }')
        picks = zip(*indices)
    else:
        picks = itertools.product(*indices)
    cells = [{a['name']: (a['key'], a['values'][i], a['labels'][i])
              for a, i in zip(parsed, pick)} for pick in picks]
    return parsed, cells


def _same(a, b) -> bool:
    """Axis value equality as a grid file writes them (``2`` is ``2.0``;
    lists and tuples alike)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _cell_of(spec: dict, cells: List[dict], what: str,
             where: Path) -> int:
    """Index of the cell whose axis values ``spec`` gives (all of them)."""
    names = list(cells[0])
    given = {k: spec[k] for k in names if k in spec}
    if len(given) != len(names):
        raise ValueError(f'grid {where}: {what} {spec!r} must give every '
                         f'axis value ({names})')
    for index, cell in enumerate(cells):
        if all(_same(cell[n][1], given[n]) for n in names):
            return index
    raise ValueError(f'grid {where}: {what} {given!r} is not a cell of the '
                     f'axes')


def _expand(raw, sources, where: Path) -> List[Variant]:
    """The variants of one entry of ``variants``."""
    _check_keys(raw, _VARIANT_KEYS, 'variant', where)
    if 'config' not in raw:
        raise ValueError(f'grid {where}: a variant has no "config"')
    config = _resolve_config(str(raw['config']), where)
    options = dict(raw.get('cfg_options') or {})
    if 'axes' not in raw:
        if 'name' not in raw:
            raise ValueError(f'grid {where}: a variant has no "name"')
        if 'combine' in raw:
            raise ValueError(f'grid {where}: variant {raw["name"]!r}: '
                             'combine needs axes')
        name = _check_name(str(raw['name']), where)
        given = raw.get('published')
        entries = []
        for entry in given if isinstance(given, (list, tuple)) else [given]:
            _add_entry(entries, _published(entry, sources, where),
                       f'variant {name!r}', where)
        return [Variant(
            name=name, config=config, label=str(raw.get('label', name)),
            baseline=bool(raw.get('baseline', False)), **_row(entries),
            cfg_options=options, method=str(raw.get('label', name)),
            against=str(raw.get('against') or ''))]
    if 'against' in raw:
        raise ValueError(f'grid {where}: the cells of axes compare with the '
                         'baseline; "against" is for a variant without axes')
    axes, cells = _axes_cells(raw, where)
    baseline = raw.get('baseline')
    base_index = None
    if baseline is not None and baseline is not False:
        if not isinstance(baseline, dict):
            raise ValueError(
                f'grid {where}: baseline of a variant with axes must give '
                f'its cell\'s axis values, e.g. baseline=dict('
                f'{axes[0]["name"]}={axes[0]["values"][0]!r}), got '
                f'{baseline!r}')
        base_index = _cell_of(baseline, cells, 'baseline', where)
    published = [[] for _ in cells]
    for entry in raw.get('published') or ():
        if not isinstance(entry, dict):
            raise ValueError(f'grid {where}: published of a variant with '
                             'axes must be a list of dicts, each giving a '
                             f'cell\'s axis values, got {entry!r}')
        index = _cell_of(entry, cells, 'published entry', where)
        _add_entry(published[index],
                   _published(entry, sources, where, extra=list(cells[0])),
                   f'the cell {entry!r}', where)
    method = str(raw.get('label', ''))
    prefix = str(raw['name']) + '_' if 'name' in raw else ''
    variants = []
    for index, cell in enumerate(cells):
        name = prefix + '_'.join(f'{n}{label}' for n, (_, _, label)
                                 in cell.items())
        shown = ','.join(f'{n}={label}' for n, (_, _, label) in cell.items())
        cell_options = dict(options)
        cell_options.update({key: value for key, value, _ in cell.values()})
        variants.append(Variant(
            name=_check_name(name, where), config=config,
            label=f'{method} {shown}' if method else shown,
            baseline=index == base_index, **_row(published[index]),
            cfg_options=cell_options, method=method,
            values={n: value for n, (_, value, _) in cell.items()},
            value_labels={n: label for n, (_, _, label) in cell.items()}))
    return variants


def load_grid(name_or_path: str) -> Grid:
    """The grid of that built-in name, or the grid in that file.

    Raises:
        ValueError: no such grid, or the grid is malformed (unknown keys, no
            variants, duplicate names, not exactly one baseline, missing
            configs, axes that do not combine, published values for cells
            that do not exist or from sources the grid does not name).
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
    unknown = {k for k in raw if not k.startswith('_')} - _GRID_KEYS
    if unknown:
        raise ValueError(f'grid {path}: unknown keys {sorted(unknown)}; '
                         f'allowed: {sorted(_GRID_KEYS)}')
    sources = _sources(raw.get('sources'), path)
    variants = tuple(v for entry in raw.get('variants') or ()
                     for v in _expand(entry, sources, path))
    if not variants:
        raise ValueError(f'grid {path}: "variants" is missing or empty')
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'grid {path}: duplicate variant names {duplicates}')
    baselines = [v.name for v in variants if v.baseline]
    if len(baselines) != 1:
        raise ValueError(
            f'grid {path}: exactly one variant (or cell) must be the '
            f'baseline, got {baselines or "none"}')
    for variant in variants:
        if variant.against and (variant.against not in names
                                or variant.against == variant.name):
            raise ValueError(
                f'grid {path}: variant {variant.name!r}: against='
                f'{variant.against!r} must name another variant of the '
                f'grid ({names})')
    return Grid(
        name=path.stem,
        title=str(raw.get('title', path.stem)),
        variants=variants,
        file=path,
        cfg_options=dict(raw.get('cfg_options') or {}),
        sources=sources)
