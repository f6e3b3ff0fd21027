"""Grid files: the built-in grids, user grid files, malformed grids."""
from pathlib import Path

import pytest

from imbalance_plugin.ablation.grid import available_grids, load_grid

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_grids_load_and_name_existing_configs():
    assert {'retinanet-toy', 'faster-rcnn-toy', 'retinanet-coco',
            'faster-rcnn-coco'} <= set(available_grids())
    for name in available_grids():
        grid = load_grid(name)
        assert grid.name == name
        assert all(v.config.is_file() for v in grid.variants)
        assert sum(v.baseline for v in grid.variants) == 1


def test_toy_and_coco_grids_have_the_same_variants():
    for detector in ('retinanet', 'faster-rcnn'):
        toy = load_grid(f'{detector}-toy')
        coco = load_grid(f'{detector}-coco')
        assert [v.name for v in toy.variants] == [v.name for v in coco.variants]
        assert toy.baseline.name == coco.baseline.name
        for v in toy.variants:
            assert v.config.parent == ROOT / 'configs' / 'toy'
        for v in coco.variants:
            assert v.config.name.endswith('_coco.py')


def test_coco_grids_carry_the_model_zoo_box_ap():
    published = {(g, v.name): v.published
                 for g in ('retinanet-coco', 'faster-rcnn-coco')
                 for v in load_grid(g).variants if v.published is not None}
    assert published == {
        ('retinanet-coco', 'focal'): 36.5, ('retinanet-coco', 'ghm'): 37.0,
        ('retinanet-coco', 'pisa'): 36.9, ('faster-rcnn-coco', 'ce'): 37.4,
        ('faster-rcnn-coco', 'pisa'): 38.4}
    assert not load_grid('retinanet-toy').has_published


def _write(tmp_path, text):
    (tmp_path / 'm.py').write_text('x = 1\n')
    path = tmp_path / 'my-grid.py'
    path.write_text(text)
    return path


def test_user_grid_file_resolves_configs_beside_it(tmp_path):
    path = _write(tmp_path, "title = 'mine'\nvariants = [dict(name='a', "
                  "config='m.py', baseline=True, cfg_options=dict(b=2))]\n")
    grid = load_grid(str(path))
    assert grid.name == 'my-grid' and grid.title == 'mine'
    (v,) = grid.variants
    assert v.config == tmp_path / 'm.py' and v.label == 'a'
    assert v.cfg_options == {'b': 2}


@pytest.mark.parametrize('variants, message', [
    ("[]", 'variants'),
    ("[dict(name='a', config='m.py')]", 'exactly one variant'),
    ("[dict(name='a', config='m.py', baseline=True), "
     "dict(name='b', config='m.py', baseline=True)]", 'exactly one variant'),
    ("[dict(name='a', config='m.py', baseline=True), "
     "dict(name='a', config='m.py')]", 'duplicate'),
    ("[dict(name='a', config='nope.py', baseline=True)]", 'not found'),
    ("[dict(name='a b', config='m.py', baseline=True)]", 'variant name'),
    ("[dict(name='a', config='m.py', baseline=True, colour=1)]", 'colour'),
    ("[dict(config='m.py', baseline=True)]", "'name'"),
])
def test_malformed_grid_raises(tmp_path, variants, message):
    path = _write(tmp_path, f'variants = {variants}\n')
    with pytest.raises(ValueError, match=message):
        load_grid(str(path))


def test_unknown_grid_name_lists_the_builtin_ones():
    with pytest.raises(ValueError, match='retinanet-toy'):
        load_grid('no-such-grid')
