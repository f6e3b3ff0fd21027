"""write_config_with_hook: the derived config is the original plus the hook,
keeping the original's custom hooks."""
import pytest
from mmengine.config import Config

from imbalance_plugin.diagnostics.hook_config import (
    HOOK_TYPE,
    write_config_with_hook,
)


def test_adds_the_hook_and_keeps_the_rest(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text(
        "model = dict(type='RetinaNet', x=1)\n"
        "custom_hooks = [dict(type='EMAHook', momentum=0.1),\n"
        f"                dict(type='{HOOK_TYPE}', interval=7)]\n")
    derived = write_config_with_hook(str(base), str(tmp_path / 'd' / 'c.py'),
                                     interval=3)
    cfg = Config.fromfile(derived)
    assert cfg.model == dict(type='RetinaNet', x=1)
    assert [dict(h) for h in cfg.custom_hooks] == [
        dict(type='EMAHook', momentum=0.1),
        dict(type=HOOK_TYPE, interval=3)
    ]


def test_config_without_custom_hooks(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text("model = dict(type='RetinaNet')\n")
    cfg = Config.fromfile(
        write_config_with_hook(str(base), str(tmp_path / 'c.py')))
    assert [dict(h) for h in cfg.custom_hooks] == [
        dict(type=HOOK_TYPE, interval=50)
    ]


def test_bad_interval(tmp_path):
    with pytest.raises(ValueError,
                       match='^interval must be an integer >= 1, got 0$'):
        write_config_with_hook('unused.py', str(tmp_path / 'c.py'), 0)
