"""A config that is another config plus ``GradientDensityHook``.

MMEngine's ``--cfg-options`` cannot add a dict to ``custom_hooks`` (its
parser does not read ``[dict(...)]``), so a tool that wants the hook on an
existing config (e.g. the ablation runner, for every variant) writes a small
config inheriting it::

    path = write_config_with_hook('configs/toy/retinanet_ghm_toy.py',
                                  'work_dirs/x/with_hook.py', interval=50)
    # then: tools/train.py work_dirs/x/with_hook.py ...
"""
import os
import os.path as osp

from mmengine.config import Config

from ..utils.settings import check_int

HOOK_TYPE = 'imbalance_plugin.GradientDensityHook'


def _plain(value):
    """ConfigDicts and lists of them as plain dicts and lists."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


def write_config_with_hook(config: str, path: str, interval: int = 50) -> str:
    """Writes to ``path`` a config inheriting ``config`` whose
    ``custom_hooks`` are ``config``'s own followed by
    ``GradientDensityHook(interval)`` (an existing one is replaced).

    Returns:
        ``path``.
    """
    check_int(interval, 'interval', low=1)
    hooks = [
        hook for hook in _plain(Config.fromfile(config).get('custom_hooks')
                                or [])
        if hook.get('type') not in (HOOK_TYPE, 'GradientDensityHook')
    ]
    hooks.append(dict(type=HOOK_TYPE, interval=interval))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as file:
        file.write(f'_base_ = {osp.abspath(config)!r}\n'
                   f'custom_hooks = {hooks!r}\n')
    return path
