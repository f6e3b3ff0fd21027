"""Constructor argument checks shared by the loss modules: each raises
ValueError naming the parameter and its allowed values."""
import math

from ..functional.reduction import check_reduction


def check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f'{name} must be True or False, got {value!r}')
    return value


def check_number(value, name: str, low=None, high=None, low_open=False,
                 high_open=False) -> float:
    """A finite real number in the given (half-)open or closed range."""
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = '-inf' if low is None else low
        hi = 'inf' if high is None else high
        interval = (f'{"(" if low_open or low is None else "["}{lo}, '
                    f'{hi}{")" if high_open or high is None else "]"}')
        raise ValueError(f'{name} must be a finite number in {interval}, '
                         f'got {value!r}')
    return float(value)


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be an integer >= 1, got {value!r}')
    return value


def resolve_reduction(default: str, override) -> str:
    """The reduction of one call: ``override`` if given, else ``default``."""
    if override is None:
        return default
    return check_reduction(override, 'reduction_override')
