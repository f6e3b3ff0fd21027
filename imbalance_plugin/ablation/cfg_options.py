"""Config overrides as ``--cfg-options`` arguments of the stock tools.

Grids hold overrides as (nested) dicts; ``tools/train.py`` takes them as
``key=value`` strings parsed by MMEngine's ``DictAction``.
"""
from typing import Dict, Iterable, List, Sequence


def _format(value) -> str:
    if isinstance(value, (list, tuple)):
        inner = ','.join(_format(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    if isinstance(value, dict):
        raise ValueError('cfg_options: a dict value must be given as dotted '
                         f'keys, got {value!r}')
    return str(value)


def flatten(options: Dict[str, object], prefix: str = '') -> Dict[str, object]:
    """``{'a': {'b': 1}}`` -> ``{'a.b': 1}``."""
    flat = {}
    for key, value in options.items():
        dotted = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(flatten(value, dotted + '.'))
        else:
            flat[dotted] = value
    return flat


def to_cli(*option_sets: Dict[str, object]) -> List[str]:
    """``key=value`` strings of the given dicts, later ones overriding."""
    merged = {}
    for options in option_sets:
        merged.update(flatten(options))
    return [f'{k}={_format(v)}' for k, v in merged.items()]


def merge_cli(*lists: Iterable[str]) -> List[str]:
    """Concatenates ``key=value`` lists keeping the last value of each key,
    in first-appearance order."""
    merged = {}
    for items in lists:
        for item in items:
            if '=' not in item:
                raise ValueError(
                    f'cfg_options: {item!r} is not of the form key=value')
            key, value = item.split('=', 1)
            merged[key] = value
    return [f'{k}={v}' for k, v in merged.items()]


def resolved_config(config, options: Sequence[str]):
    """The config file with ``key=value`` overrides applied as
    ``tools/train.py --cfg-options`` applies them."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(str(config))
    if options:
        parsed = {}
        for item in merge_cli(options):
            key, value = item.split('=', 1)
            parsed[key] = DictAction._parse_iterable(value)
        cfg.merge_from_dict(parsed)
    return cfg
