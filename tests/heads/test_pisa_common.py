"""Reading train_cfg.isr / train_cfg.carl, shared by every PISA head."""
import pytest
from mmengine.config import ConfigDict

from imbalance_plugin.heads.pisa_common import (
    PISA_DEFAULTS,
    pisa_cfg,
    pisa_part,
)


def test_defaults_fill_what_is_left_out():
    cfg = pisa_cfg(ConfigDict(isr=dict(k=1.), carl=dict()), 'Head')
    assert cfg == dict(isr=dict(k=1., bias=PISA_DEFAULTS['isr']['bias']),
                       carl=PISA_DEFAULTS['carl'])
    # The paper's and mmdet's isr_p / carl_loss defaults.
    assert PISA_DEFAULTS == dict(isr=dict(k=2., bias=0.),
                                 carl=dict(k=1., bias=0.2))


@pytest.mark.parametrize('train_cfg', [None, {}, dict(isr=None, carl=None),
                                       dict(assigner=dict())])
def test_parts_left_out_are_off(train_cfg):
    assert pisa_cfg(train_cfg, 'Head') == dict(isr=None, carl=None)
    assert pisa_part(train_cfg, 'isr') is None


def test_defaults_are_not_shared_between_reads():
    a = pisa_cfg(dict(isr=dict()), 'Head')
    a['isr']['k'] = 5.
    assert pisa_cfg(dict(isr=dict()), 'Head')['isr']['k'] == 2.


def test_unknown_keys_are_named_with_the_owner():
    with pytest.raises(ValueError, match=r'^PISASomeHead: .*'
                       r'train_cfg\.isr\.bais, train_cfg\.isr\.kk'):
        pisa_cfg(dict(isr=dict(kk=1., bais=0.)), 'PISASomeHead')


@pytest.mark.parametrize('part,key,value', [('isr', 'k', -1.),
                                            ('carl', 'bias', 1.),
                                            ('carl', 'k', 'one')])
def test_values_out_of_range(part, key, value):
    with pytest.raises(ValueError, match=rf'train_cfg\.{part}\.{key}'):
        pisa_cfg({part: {key: value}}, 'Head')
