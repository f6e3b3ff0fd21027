"""What a grid file holds: its entries as frozen dataclasses built with
:func:`~imbalance_plugin.utils.settings.from_cfg`, each checking itself
and saying what its keys mean (:class:`GridFile`, :class:`Source`,
:class:`VariantEntry`, :class:`Axis`), and its published entries
(:class:`Published`). Messages name the entry and the key
(``variants[2].axes[0].values``); :func:`.grid.load_grid` adds the file.
"""
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..utils.settings import (
    check_bool,
    check_choice,
    check_number,
    from_cfg,
    from_cfg_list,
)
from .metrics import METRICS

COMBINE = ('product', 'zip')
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')


def _set(obj, name: str, value) -> None:
    """Sets a field of a frozen dataclass in its ``__post_init__``."""
    object.__setattr__(obj, name, value)


def _check_str(value, name: str) -> str:
    """``value`` if it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ValueError(f'{name} must be a non-empty string, got {value!r}')
    return value


def check_name(name: str, what: str) -> str:
    """``name`` if it can name a variant's directory."""
    if not _NAME.match(name):
        raise ValueError(
            f'{what} {name!r} must be letters, digits, "_", "-" or "." (it '
            'names a directory)')
    return name


def _options(value, name: str) -> Dict[str, object]:
    """``cfg_options`` as a dict (None: no options)."""
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f'{name} must be a dict of config key -> value, '
                         f'got {value!r}')
    return dict(value or {})


def metrics_of(raw: Mapping, where: str) -> Dict[str, float]:
    """The metrics that a published entry or a source's baseline gives, in
    the order of :data:`METRICS`, those given as None left out."""
    unknown = sorted(set(raw) - set(METRICS))
    if unknown:
        raise ValueError(f'{where}.{unknown[0]} is not a metric; the '
                         f'metrics are {list(METRICS)}')
    return {m: check_number(raw[m], f'{where}.{m}') for m in METRICS
            if raw.get(m) is not None}


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


def _same(a, b) -> bool:
    """Axis value equality as a grid file writes them (``2`` is ``2.0``;
    lists and tuples alike)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@dataclass(frozen=True)
class Source:
    """Where published numbers come from (``cite``), and the metrics of
    the baseline they were measured against where no row of the grid
    carries them from this source (``baseline``). A grid file gives it as
    its citation or as ``dict(cite=..., baseline=dict(AP=...))``."""
    cite: str
    baseline: Optional[Dict[str, float]] = None

    def __post_init__(self):
        _check_str(self.cite, 'cite')
        if self.baseline is not None:
            if not isinstance(self.baseline, Mapping):
                raise ValueError('baseline must be a dict of metrics, got '
                                 f'{self.baseline!r}')
            _set(self, 'baseline', metrics_of(self.baseline, 'baseline'))


@dataclass(frozen=True)
class Published:
    """Published metrics of one variant, from one source."""
    source: str
    metrics: Dict[str, float]


@dataclass(frozen=True)
class Axis:
    """An axis of a variant entry: its ``values`` for the config ``key``
    (dotted, as ``--cfg-options`` takes it), and ``labels`` naming them in
    the cells' names and the table where they are not short numbers (anchor
    ratios ``[0.5, 1.0, 2.0]`` shown as ``3``; default :func:`value_text`).
    """
    name: str
    key: str
    values: Sequence[Any]
    labels: Optional[Sequence[Any]] = None

    def __post_init__(self):
        _check_str(self.name, 'name')
        _check_str(self.key, 'key')
        if not isinstance(self.values, (list, tuple)) or not self.values:
            raise ValueError(f'values must be a non-empty list, got '
                             f'{self.values!r}')
        if self.labels is not None and (
                not isinstance(self.labels, (list, tuple))
                or len(self.labels) != len(self.values)):
            raise ValueError(f'labels must be a list of one label per value, '
                             f'{len(self.values)} of them, got '
                             f'{self.labels!r}')

    @property
    def shown(self) -> List[str]:
        """Each value's label."""
        if self.labels is None:
            return [value_text(v) for v in self.values]
        return [str(label) for label in self.labels]


@dataclass(frozen=True)
class VariantEntry:
    """An entry of a grid file's ``variants``: one row, or ``axes`` whose
    cells are rows: the product of the axes' values (``combine='product'``,
    the default) or their values side by side (``'zip'``, for a paper that
    pairs them). A cell sets each axis's ``key`` to its value; its name and
    label show the values (``gamma2_alpha0.25``, ``gamma=2,alpha=0.25``),
    after the entry's ``name`` and ``label`` if it has them.

    ``name`` names a row's work directory and its rows in ``results.csv``.
    Exactly one row (``baseline=True``) or cell (``baseline`` giving its
    axis values) of the grid is the baseline that deltas are taken against;
    a row that compares with another row instead names it
    (``against='ssd300'``). ``published`` is a source's metrics for a row:
    a number (AP) or a dict of :data:`METRICS` (in percent) naming its
    ``source`` where the grid has several, or a list of such entries, one
    per source; for axes, a list of dicts each naming its cell by its axis
    values (a cell once per source).
    """
    config: str
    name: Optional[str] = None
    label: Optional[str] = None
    baseline: Any = False
    published: Any = None
    cfg_options: Optional[Mapping] = None
    axes: Optional[Sequence[Axis]] = None
    combine: Optional[str] = None
    against: Optional[str] = None

    def __post_init__(self):
        _check_str(self.config, 'config')
        for key in ('name', 'label', 'against'):
            if getattr(self, key) is not None:
                _check_str(getattr(self, key), key)
        _set(self, 'cfg_options', _options(self.cfg_options, 'cfg_options'))
        if self.axes is None:
            if self.name is None:
                raise ValueError('name: a variant without axes needs one')
            check_name(self.name, 'name')
            if self.combine is not None:
                raise ValueError('combine needs axes')
            check_bool(self.baseline, 'baseline')
            return
        if self.against is not None:
            raise ValueError('against is for a variant without axes: the '
                             'cells of axes compare with the baseline')
        if not isinstance(self.axes, (list, tuple)) or not self.axes:
            raise ValueError('axes must be a non-empty list of dict(name=..., '
                             f'key=..., values=[...]), got {self.axes!r}')
        _set(self, 'axes', from_cfg_list(Axis, self.axes, 'axes'))
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f'axes: duplicate axis names {names}')
        check_choice(self.combine or 'product', 'combine', COMBINE)
        if self.combine == 'zip' and len({len(a.values)
                                          for a in self.axes}) != 1:
            raise ValueError(
                'combine="zip" needs axes of one length, got '
                f'{ {a.name: len(a.values) for a in self.axes} }')
        if self.baseline is not False and self.baseline is not None:
            if not isinstance(self.baseline, Mapping):
                first = self.axes[0]
                raise ValueError(
                    'baseline of a variant with axes must give its cell\'s '
                    f'axis values, e.g. baseline=dict({first.name}='
                    f'{first.values[0]!r}), got {self.baseline!r}')
            self.cell_of(self.baseline, 'baseline')

    def cells(self) -> List[Tuple[int, ...]]:
        """Each cell as the index of its value on every axis; a row is one
        cell of no axes."""
        indices = [range(len(a.values)) for a in self.axes or ()]
        if self.combine == 'zip':
            return list(zip(*indices))
        return list(itertools.product(*indices))

    def cell_of(self, values: Mapping, what: str) -> int:
        """The index in :meth:`cells` of the cell whose axis values
        ``values`` gives (all of them, besides other keys)."""
        names = [a.name for a in self.axes]
        given = {n: values[n] for n in names if n in values}
        if len(given) != len(names):
            raise ValueError(f'{what} {dict(values)!r} must give every axis '
                             f'value ({names})')
        for index, pick in enumerate(self.cells()):
            if all(_same(a.values[i], given[a.name])
                   for a, i in zip(self.axes, pick)):
                return index
        raise ValueError(f'{what} {given!r} is not a cell of the axes')

    def published_by_cell(self, sources: Dict[str, Source],
                          where: str) -> List[List[Published]]:
        """The published entries of each cell of :meth:`cells`, at most one
        per source, in the order the entry gives them; ``where`` is the
        entry's place in the file."""
        axes = [a.name for a in self.axes or ()]
        given = self.published
        if not axes and not isinstance(given, (list, tuple)):
            given = {f'{where}.published': given} if given is not None \
                else {}
        elif isinstance(given, (list, tuple, type(None))) and (
                not axes or all(isinstance(p, Mapping) for p in given or ())):
            given = {f'{where}.published[{i}]': raw
                     for i, raw in enumerate(given or ())}
        else:
            raise ValueError(f'{where}.published of a variant with axes must '
                             'be a list of dicts, each giving a cell\'s axis '
                             f'values, got {given!r}')
        cells = [[] for _ in self.cells()]
        for what, raw in given.items():
            entry = _published_entry(raw, sources, what, axes)
            cell = cells[self.cell_of(raw, what) if axes else 0]
            if entry is not None and any(p.source == entry.source
                                         for p in cell):
                raise ValueError(
                    f'{what}: a second published entry from source '
                    f'{entry.source!r} for the same '
                    + ('cell' if axes else 'row'))
            cell += [entry] if entry is not None else []
        return cells


@dataclass(frozen=True)
class GridFile:
    """What a grid file holds, its names that start with ``_`` (its own
    helpers) left out: the ``variants`` entries, the ``sources`` of their
    published metrics (name -> :class:`Source`, or its citation), overrides
    applied to every variant and a title (default: the file's name)."""
    variants: Sequence[VariantEntry]
    title: Optional[str] = None
    sources: Optional[Mapping] = None
    cfg_options: Optional[Mapping] = None

    def __post_init__(self):
        if self.title is not None:
            _check_str(self.title, 'title')
        _set(self, 'cfg_options', _options(self.cfg_options, 'cfg_options'))
        if self.sources is not None and not isinstance(self.sources, Mapping):
            raise ValueError('sources must be a dict of source name -> '
                             f'citation, got {self.sources!r}')
        _set(self, 'sources', {
            key: from_cfg(Source, dict(cite=spec) if isinstance(spec, str)
                          else spec, f'sources.{key}')
            for key, spec in (self.sources or {}).items()})
        if not self.variants:
            raise ValueError('variants must be a non-empty list of variant '
                             f'entries, got {self.variants!r}')
        _set(self, 'variants',
             from_cfg_list(VariantEntry, self.variants, 'variants'))


def _published_entry(raw, sources: Dict[str, Source], where: str,
                    cell_keys: Sequence[str] = ()) -> Optional[Published]:
    """A published entry: a number (AP) or a dict of metrics with its
    ``source`` (and, for a cell, its axis values ``cell_keys``); None if it
    gives no metric."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = dict(AP=raw)
    if not isinstance(raw, Mapping):
        raise ValueError(f'{where} must be a number (AP) or a dict of '
                         f'metrics, got {raw!r}')
    source = raw.get('source')
    if source is None:
        if len(sources) > 1:
            raise ValueError(f'{where} {dict(raw)!r} must name its source, '
                             f'one of {sorted(sources)}')
        source = next(iter(sources), '')
    elif source not in sources:
        raise ValueError(f'{where}.source {source!r} is not among the '
                         f'grid\'s sources {sorted(sources)}')
    metrics = metrics_of({k: v for k, v in raw.items()
                          if k != 'source' and k not in cell_keys}, where)
    return Published(source=str(source), metrics=metrics) if metrics \
        else None
