"""User-written settings, checked once where they enter the plugin.

The checks raise ValueError naming the parameter and its allowed values.
:func:`from_cfg` turns a config dict into a frozen dataclass of settings
(in the spirit of detectron2's ``from_config``): an unknown key is refused
with the accepted ones, a missing key takes the dataclass's default, and the
dataclass's ``__post_init__`` checks the values with the functions below.
Code past the edge (the heads' losses, the math in ``functional/``) holds
such an object and checks only tensors.
"""
import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Optional, Sequence, Tuple, Type, TypeVar

T = TypeVar('T')


def check_bool(value, name: str) -> bool:
    """``value`` if it is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f'{name} must be True or False, got {value!r}')
    return value


def _interval(low, high, low_open, high_open) -> str:
    lo = '-inf' if low is None else low
    hi = 'inf' if high is None else high
    return (f'{"(" if low_open or low is None else "["}{lo}, '
            f'{hi}{")" if high_open or high is None else "]"}')


def check_number(value, name: str, low=None, high=None, low_open=False,
                 high_open=False) -> float:
    """``value`` as a float if it is a finite real number in the given
    (half-)open or closed range."""
    # comparisons rather than math.isfinite: torch.compile traces them on a
    # symbolic float; NaN fails both
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
          and -math.inf < value < math.inf)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ValueError(f'{name} must be a finite number in '
                         f'{_interval(low, high, low_open, high_open)}, got '
                         f'{value!r}')
    return float(value)


def check_int(value, name: str, low: int = 1,
              high: Optional[int] = None) -> int:
    """``value`` if it is an integer (not a bool) in ``[low, high]``."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    ok = ok and value >= low and (high is None or value <= high)
    if not ok:
        allowed = f'>= {low}' if high is None else f'in [{low}, {high}]'
        raise ValueError(f'{name} must be an integer {allowed}, got '
                         f'{value!r}')
    return value


def check_choice(value, name: str, choices: Sequence[Any],
                 why: str = ''):
    """``value`` if it is one of ``choices``; ``why`` (e.g. ``' (a ranking
    loss has no per-element value)'``) follows the choices in the error."""
    if isinstance(value, bool) or value not in tuple(choices):
        raise ValueError(f'{name} must be one of {tuple(choices)}{why}, got '
                         f'{value!r}')
    return value


def check_optional(check, value, name: str, meaning: str, *args, **kwargs):
    """None, or ``check(value, name, *args, **kwargs)``: a refused value's
    message names None too, with its ``meaning`` (``'x must be None (no
    NMS) or a finite number in (0, 1], got ...'``)."""
    if value is None:
        return None
    try:
        return check(value, name, *args, **kwargs)
    except ValueError as error:
        raise ValueError(str(error).replace(
            f'{name} must be ', f'{name} must be None ({meaning}) or ',
            1)) from None


def _at(where: str, key) -> str:
    """``where.key``, or ``key`` at the top level (``where`` empty)."""
    return f'{where}.{key}' if where else str(key)


def from_cfg(cls: Type[T], raw: Optional[Mapping], where: str) -> T:
    """The settings dataclass ``cls`` from the config dict ``raw``.

    Args:
        cls: a dataclass whose ``__post_init__`` checks its fields.
        raw: the user's dict (a ``ConfigDict`` too), or None for the
            defaults.
        where: the dict's place in the config, e.g. ``'train_cfg.isr'``;
            every error message names ``where.key``. Empty for the top
            level of a file: the message names ``key``.

    Raises:
        ValueError: ``raw`` is not a dict, has a key that is not a field of
            ``cls`` (the message lists the accepted keys), lacks a field
            that has no default (the message lists those), or has a value
            the dataclass refuses.
    """
    if isinstance(raw, cls):
        return raw
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValueError(f'{where or "the config"} must be a dict, got '
                         f'{raw!r}')
    fields = [f for f in dataclasses.fields(cls) if f.init]
    accepted = [f.name for f in fields]
    unknown = sorted(set(raw) - set(accepted))
    if unknown:
        raise ValueError(f'{_at(where, unknown[0])} is not a setting; '
                         f'{where or "the top level"} accepts {accepted}')
    required = [f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in raw]
    if missing:
        raise ValueError(f'{_at(where, missing[0])} is required; '
                         f'{where or "the top level"} needs {required}')
    try:
        return cls(**raw)
    except ValueError as error:
        raise ValueError(_at(where, error)) from None


def from_cfg_list(cls: Type[T], raw, where: str) -> Tuple[T, ...]:
    """A ``cls`` (:func:`from_cfg`) from each dict of the list ``raw``; the
    messages name ``where[i]``.

    Raises:
        ValueError: ``raw`` is not a list or tuple, or :func:`from_cfg`
            refuses one of its dicts.
    """
    if not isinstance(raw, (list, tuple)):
        raise ValueError(f'{where} must be a list of dicts, got {raw!r}')
    return tuple(from_cfg(cls, item, f'{where}[{i}]')
                 for i, item in enumerate(raw))
