"""CurveSettings: the papers' defaults, the values read from a head's
losses, and values out of range refused by name."""
from dataclasses import replace
from types import SimpleNamespace

import pytest

from imbalance_plugin.diagnostics.curve_settings import (
    CurveSettings,
    curve_settings_of,
)
from imbalance_plugin.losses import GHMC, GHMR


def test_read_from_the_heads_losses():
    head = SimpleNamespace(loss_cls=GHMC(bins=12), loss_bbox=GHMR(mu=0.05))
    assert curve_settings_of(head) == CurveSettings(ghm_c_bins=12, mu=0.05)
    assert curve_settings_of(SimpleNamespace()) == CurveSettings()


@pytest.mark.parametrize('name,value,allowed', [
    ('gamma', -1., r'a finite number in \[0, inf\)'),
    ('alpha', 1.5, r'None \(no class balance\) or a finite number in '
     r'\[0, 1\]'),
    ('ghm_c_bins', 0, 'an integer >= 1'),
    ('ghm_r_bins', 2.5, 'an integer >= 1'),
    ('mu', 0., r'a finite number in \(0, inf\)'),
    ('beta', -0.1, r'a finite number in \[0, inf\)'),
])
def test_values_out_of_range_are_refused(name, value, allowed):
    with pytest.raises(ValueError, match=rf'^{name} must be {allowed}, got '
                       rf'{value!r}$'):
        replace(CurveSettings(), **{name: value})
