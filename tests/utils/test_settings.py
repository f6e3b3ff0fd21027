"""Settings checked once at the edge: the checks, check_optional and
from_cfg (unknown keys, defaults, errors naming where.key)."""
import math
import re
from dataclasses import FrozenInstanceError, dataclass
from typing import Optional

import pytest
from mmengine.config import ConfigDict

from imbalance_plugin.utils.settings import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_optional,
    from_cfg,
    from_cfg_list,
)


@dataclass(frozen=True)
class Part:
    """A settings dataclass as the plugin writes them."""
    k: float = 2.
    bias: float = 0.
    mode: str = 'a'
    num: int = 3
    limit: Optional[float] = None

    def __post_init__(self):
        check_number(self.k, 'k', low=0)
        check_number(self.bias, 'bias', low=0, high=1, high_open=True)
        check_choice(self.mode, 'mode', ('a', 'b'))
        check_int(self.num, 'num', low=1)
        check_optional(check_number, self.limit, 'limit', 'no limit', low=0,
                       low_open=True)


def test_missing_keys_take_the_defaults():
    assert from_cfg(Part, dict(k=1.), 'train_cfg.part') == Part(k=1.)
    assert from_cfg(Part, {}, 'train_cfg.part') == Part()
    assert from_cfg(Part, None, 'train_cfg.part') == Part()


def test_config_dict_is_accepted():
    assert from_cfg(Part, ConfigDict(k=1., mode='b'), 'x') == Part(k=1.,
                                                                  mode='b')


def test_an_instance_passes_through():
    part = Part(k=3.)
    assert from_cfg(Part, part, 'x') is part


def test_the_settings_are_frozen():
    with pytest.raises(FrozenInstanceError):
        from_cfg(Part, {}, 'x').k = 1.


def test_unknown_key_names_where_and_the_accepted_keys():
    with pytest.raises(ValueError) as error:
        from_cfg(Part, dict(kk=1.), 'train_cfg.part')
    message = str(error.value)
    assert message.startswith('train_cfg.part.kk ')
    assert "['k', 'bias', 'mode', 'num', 'limit']" in message


@pytest.mark.parametrize('raw', [[('k', 1.)], 'k=1', 3])
def test_a_non_dict_is_refused(raw):
    with pytest.raises(ValueError, match=r'^train_cfg\.part must be a dict'):
        from_cfg(Part, raw, 'train_cfg.part')


@pytest.mark.parametrize('key,value,allowed', [
    ('k', -1, r'a finite number in \[0, inf\)'),
    ('k', math.nan, r'a finite number in \[0, inf\)'),
    ('k', 'two', r'a finite number in \[0, inf\)'),
    ('bias', 1., r'a finite number in \[0, 1\)'),
    ('mode', 'c', r"one of \('a', 'b'\)"),
    ('num', 0, 'an integer >= 1'),
    ('limit', 0., r'None \(no limit\) or a finite number in \(0, inf\)'),
])
def test_a_bad_value_names_where_key_and_the_allowed_values(key, value,
                                                            allowed):
    with pytest.raises(ValueError) as error:
        from_cfg(Part, {key: value}, 'train_cfg.part')
    assert re.fullmatch(rf'train_cfg\.part\.{key} must be {allowed}, got '
                        rf'{re.escape(repr(value))}', str(error.value))


def test_check_number_ranges():
    assert check_number(1, 'x') == 1. and isinstance(check_number(1, 'x'),
                                                      float)
    assert check_number(0, 'x', low=0) == 0.
    assert check_number(1, 'x', low=0, high=1) == 1.
    for value, kwargs in [(0, dict(low=0, low_open=True)),
                          (1, dict(high=1, high_open=True)),
                          (-0.5, dict(low=0)), (2, dict(high=1)),
                          (math.inf, {}), (None, {}), ('1', {})]:
        with pytest.raises(ValueError, match='^x must be a finite number'):
            check_number(value, 'x', **kwargs)
    with pytest.raises(ValueError, match=r'in \(0, 1\]'):
        check_number(0, 'x', low=0, high=1, low_open=True)


def test_bool_is_refused_as_number_and_as_int():
    for check in (check_number, check_int):
        for value in (True, False):
            with pytest.raises(ValueError, match='^x must be'):
                check(value, 'x', low=0)


def test_check_int():
    assert check_int(3, 'x') == 3
    assert check_int(-1, 'x', low=-1) == -1
    assert check_int(5, 'x', low=0, high=5) == 5
    for value in (0, 2.0, '3', None):
        with pytest.raises(ValueError, match='^x must be an integer >= 1'):
            check_int(value, 'x')
    with pytest.raises(ValueError, match=r'^x must be an integer in \[0, 5\]'
                       r', got 6$'):
        check_int(6, 'x', low=0, high=5)


def test_check_bool():
    assert check_bool(True, 'x') is True and check_bool(False, 'x') is False
    for value in (1, 0, 'True', None):
        with pytest.raises(ValueError,
                           match='^x must be True or False, got '):
            check_bool(value, 'x')


def test_check_choice():
    assert check_choice('b', 'x', ('a', 'b')) == 'b'
    assert check_choice(1, 'x', [1, 2]) == 1
    with pytest.raises(ValueError, match=r"^x must be one of \('a', 'b'\), "
                       r"got 'c'$"):
        check_choice('c', 'x', ('a', 'b'))
    # True == 1, but a flag is not a choice of numbers.
    with pytest.raises(ValueError, match='got True'):
        check_choice(True, 'x', (0, 1))


def test_check_optional():
    assert check_optional(check_number, None, 'x', 'off', low=0) is None
    assert check_optional(check_number, 2, 'x', 'off', low=0) == 2.
    with pytest.raises(ValueError, match=r'^x must be None \(off\) or a '
                       r'finite number in \[0, inf\), got -1$'):
        check_optional(check_number, -1, 'x', 'off', low=0)


@dataclass(frozen=True)
class Entry:
    """A settings dataclass with a required field."""
    name: str
    weight: float = 1.

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ValueError(f'name must be a string, got {self.name!r}')
        check_number(self.weight, 'weight', low=0)


def test_a_required_key_is_named_with_the_required_ones():
    with pytest.raises(ValueError, match=re.escape(
            "grid.variants[0].name is required; grid.variants[0] needs "
            "['name']")):
        from_cfg(Entry, dict(weight=2.), 'grid.variants[0]')


def test_the_top_level_names_the_bare_key():
    with pytest.raises(ValueError, match=re.escape(
            "nme is not a setting; the top level accepts ['name', "
            "'weight']")):
        from_cfg(Entry, dict(nme='x'), '')
    with pytest.raises(ValueError, match=re.escape(
            'weight must be a finite number in [0, inf), got -1')):
        from_cfg(Entry, dict(name='x', weight=-1), '')
    with pytest.raises(ValueError, match='the config must be a dict'):
        from_cfg(Entry, [1], '')


def test_a_list_names_each_item():
    entries = from_cfg_list(Entry, [dict(name='a'), dict(name='b',
                                                          weight=0.5)],
                            'variants')
    assert entries == (Entry('a'), Entry('b', 0.5))
    with pytest.raises(ValueError, match=re.escape(
            'variants[1].weight must be a finite number in [0, inf)')):
        from_cfg_list(Entry, [dict(name='a'), dict(name='b', weight=-2)],
                      'variants')
    with pytest.raises(ValueError,
                       match=re.escape('variants must be a list of dicts')):
        from_cfg_list(Entry, dict(name='a'), 'variants')
