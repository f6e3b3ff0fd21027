"""The overrides a run passes to the stock tools as ``--cfg-options``.

Grids hold overrides as (nested) dicts; ``tools/train.py`` takes them as
``key=value`` strings parsed by MMEngine's ``DictAction``.

``--data-root`` moves a config's dataset elsewhere: MMEngine substitutes a
config's ``data_root`` variable into the dataloaders and the evaluators'
``ann_file`` when the file is read, so changing the root means changing
every place it ended up in. :func:`data_root_options` finds them in the
resolved config: each dataloader's dataset (through dataset wrappers) and
each evaluator annotation file that lay under the old root.
"""
import os.path as osp
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from ..diagnostics.detector_inputs import SPLITS


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


def _under(path: str, root: str) -> Optional[str]:
    """``path`` relative to ``root`` if it lies under it, else None."""
    if not root:
        return None
    root = root.rstrip('/') + '/'
    return path[len(root):] if path.startswith(root) else None


def data_root_options(cfg, new_root) -> Dict[str, str]:
    """``--cfg-options`` entries (dotted key -> value) that point ``cfg``'s
    datasets and evaluators at ``new_root``.

    Args:
        cfg: a resolved MMEngine config (or the path of one).
        new_root: the directory holding the dataset, laid out as the
            config's ``data_root`` is (e.g. ``annotations/``, ``train2017/``).
    """
    from mmengine.config import Config
    if not isinstance(cfg, Config):
        cfg = Config.fromfile(str(cfg))
    new_root = str(Path(new_root).expanduser().resolve()) + '/'
    options = {}
    if isinstance(cfg.get('data_root'), str):
        options['data_root'] = new_root
    old_roots = {}
    for split in SPLITS:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or 'dataset' not in loader:
            continue
        key, dataset = f'{split}_dataloader.dataset', loader['dataset']
        while 'data_root' not in dataset and 'dataset' in dataset:
            key, dataset = key + '.dataset', dataset['dataset']
        if 'data_root' in dataset:
            options[key + '.data_root'] = new_root
            old_roots[split] = str(dataset['data_root'])
    for split in ('val', 'test'):
        evaluator = cfg.get(f'{split}_evaluator')
        if not evaluator:
            continue
        items = ([('', evaluator)] if isinstance(evaluator, dict) else
                 [(f'.{i}', e) for i, e in enumerate(evaluator)])
        for suffix, item in items:
            ann_file = item.get('ann_file')
            rest = _under(str(ann_file), old_roots.get(split, '')) \
                if ann_file else None
            if rest is not None:
                options[f'{split}_evaluator{suffix}.ann_file'] = \
                    osp.join(new_root, rest)
    return options
