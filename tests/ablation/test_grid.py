"""Grid files: the built-in grids, axes and their cells, published values
and their sources, user grid files, malformed grids."""
import itertools
from pathlib import Path

import pytest

from imbalance_plugin.ablation.grid import available_grids, load_grid
from imbalance_plugin.ablation.grid_file import value_text
from imbalance_plugin.ablation.metrics import METRICS

ROOT = Path(__file__).resolve().parents[2]
# Configs other engineers add (the OHEM head; PISA for SSD and Mask R-CNN):
# grids may name them before they land.
PENDING = {
    'configs/retinanet/retinanet_r101_fpn_ohem-1x_coco.py',
    'configs/retinanet/retinanet_r101_fpn_focal-600-1x_coco.py',
    'configs/toy/retinanet_ohem_toy.py',
    'configs/ssd/ssd300_coco.py', 'configs/ssd/ssd512_coco.py',
    'configs/ssd/ssd300_pisa_coco.py', 'configs/ssd/ssd512_pisa_coco.py',
    'configs/mask_rcnn/mask-rcnn_r50_fpn_ce-1x_coco.py',
    'configs/mask_rcnn/mask-rcnn_r50_fpn_pisa-1x_coco.py',
    'configs/toy/ssd_toy.py', 'configs/toy/ssd_pisa_toy.py',
}
PAPER_GRIDS = ('focal-alpha', 'focal-gamma', 'focal-anchors', 'focal-ohem',
               'ghm-bins', 'ghm-losses', 'pisa-parts', 'pisa-detectors',
               'pisa-k', 'pisa-bias', 'pisa-methods')
COCO_GRIDS = PAPER_GRIDS + ('retinanet-coco', 'faster-rcnn-coco')


def _load(name):
    """The grid, or None (skipping) while a config it names is pending."""
    try:
        return load_grid(name)
    except ValueError as error:
        missing = [p for p in PENDING if repr(p) in str(error)]
        if missing and not (ROOT / missing[0]).is_file():
            pytest.skip(f'{name}: {missing[0]} has not landed yet')
        raise


def _write(tmp_path, text):
    (tmp_path / 'm.py').write_text('x = 1\n')
    path = tmp_path / 'my-grid.py'
    path.write_text(text)
    return path


@pytest.mark.parametrize('name', sorted(
    set(COCO_GRIDS) | {g.replace('-coco', '') + '-toy' for g in COCO_GRIDS}))
def test_every_grid_and_its_toy_counterpart_is_built_in(name):
    assert name in available_grids()
    grid = _load(name)
    assert grid.name == name
    assert all(v.config.is_file() for v in grid.variants)
    assert sum(v.baseline for v in grid.variants) == 1


@pytest.mark.parametrize('coco', COCO_GRIDS)
def test_toy_grid_mirrors_its_coco_grid(coco):
    toy_name = coco.replace('-coco', '') + '-toy'
    grid, toy = _load(coco), _load(toy_name)
    for variant in toy.variants:
        assert variant.config.parent == ROOT / 'configs' / 'toy'
    for variant in grid.variants:
        assert variant.config.parent.name != 'toy'
    assert {k: toy.cfg_options.get(k) for k in grid.cfg_options} == \
        grid.cfg_options
    if coco == 'pisa-detectors':
        # The toy has no masks and one SSD (neither SSD300 nor SSD512).
        assert [v.name for v in toy.variants] == [
            'retinanet', 'retinanet-pisa', 'faster-rcnn', 'faster-rcnn-pisa',
            'ssd', 'ssd-pisa']
        coco_rows = {v.name: v for v in grid.variants}
        for variant in toy.variants[:4]:
            assert variant.published == coco_rows[variant.name].published
        return
    if coco == 'ghm-bins':
        # The toy runs each COCO cell (EMA off, Table 1) with EMA on too.
        coco_cells = {v.values['bins']: v for v in grid.variants}
        assert sorted({v.values['bins'] for v in toy.variants}) == sorted(
            coco_cells)
        for variant in toy.variants:
            assert variant.values['momentum'] in (0.0, 0.75)
            paper = coco_cells[variant.values['bins']].published
            assert variant.published == (
                paper if variant.values['momentum'] == 0.0 else None)
        assert toy.baseline.values == dict(bins=30, momentum=0.0)
        return
    assert [v.name for v in toy.variants] == [v.name for v in grid.variants]
    assert toy.baseline.name == grid.baseline.name
    if coco.endswith('-coco'):
        return  # the demo grids carry no published values
    for a, b in zip(toy.variants, grid.variants):
        assert (a.label, a.values, a.published, a.also_published) == (
            b.label, b.values, b.published, b.also_published)
        # the COCO cell's overrides, besides the toy's own
        assert {k: v for k, v in b.cfg_options.items()
                if k not in a.cfg_options} == {}


def test_focal_gamma_zips_the_papers_pairs():
    grid = load_grid('focal-gamma')
    pairs = [(v.values['gamma'], v.values['alpha']) for v in grid.variants]
    assert pairs == [(0.0, 0.75), (0.1, 0.75), (0.2, 0.75), (0.5, 0.5),
                     (1.0, 0.25), (2.0, 0.25), (5.0, 0.25)]
    best = next(v for v in grid.variants if v.values['gamma'] == 2.0)
    assert best.name == 'gamma2_alpha0.25'
    assert best.label == 'gamma=2,alpha=0.25'
    assert best.cfg_options == {'model.bbox_head.loss_cls.gamma': 2.0,
                                'model.bbox_head.loss_cls.alpha': 0.25}
    assert best.published.metrics == dict(AP=34.0, AP50=52.5, AP75=36.5)
    assert grid.baseline.values == dict(gamma=0.0, alpha=0.75)
    assert grid.published_delta(best) == pytest.approx(34.0 - 31.1)
    assert grid.axes == ['gamma', 'alpha']
    assert all(v.config.name == 'retinanet_r50_fpn_focal-600-1x_coco.py'
               for v in grid.variants)


def test_focal_alpha_is_cross_entropy_at_600_pixels():
    from mmengine.config import Config
    grid = load_grid('focal-alpha')
    assert grid.cfg_options == {'model.bbox_head.loss_cls.gamma': 0.0}
    assert [v.values['alpha'] for v in grid.variants] == [
        0.10, 0.25, 0.50, 0.75, 0.90, 0.99, 0.999]
    assert grid.baseline.name == 'alpha0.75'
    assert [v.published.metrics['AP'] for v in grid.variants] == [
        0.0, 10.8, 30.2, 31.1, 30.8, 28.7, 25.1]
    cfg = Config.fromfile(str(grid.baseline.config))
    scales = {t['scale'] for p in (cfg.train_pipeline, cfg.test_pipeline)
              for t in p if t['type'] == 'Resize'}
    assert scales == {(1000, 600)}
    for loader in ('train', 'val', 'test'):
        pipeline = cfg[f'{loader}_dataloader'].dataset.pipeline
        assert [t['scale'] for t in pipeline if t['type'] == 'Resize'] == [
            (1000, 600)]


def test_focal_anchors_has_the_papers_seven_cells():
    grid = load_grid('focal-anchors')
    cells = [(v.values['sc'], v.value_labels['ar']) for v in grid.variants]
    assert cells == [(1, '1'), (2, '1'), (3, '1'), (1, '3'), (2, '3'),
                     (3, '3'), (4, '3')]
    assert grid.baseline.name == 'sc3_ar3'
    assert grid.baseline.cfg_options[
        'model.bbox_head.anchor_generator.ratios'] == [0.5, 1.0, 2.0]
    assert all(v.published is not None for v in grid.variants)


def test_focal_ohem_rows():
    grid = _load('focal-ohem')
    names = [v.name for v in grid.variants]
    assert names == [
        'ohem_nms0.7_batch128', 'ohem_nms0.7_batch256', 'ohem_nms0.7_batch512',
        'ohem_nms0.5_batch128', 'ohem_nms0.5_batch256', 'ohem_nms0.5_batch512',
        'ohem-1-3_nms0.5_batch128', 'ohem-1-3_nms0.5_batch256',
        'ohem-1-3_nms0.5_batch512', 'fl']
    assert grid.variants[6].label == 'OHEM 1:3 nms=0.5,batch=128'
    assert grid.variants[6].cfg_options == {
        'model.train_cfg.ohem.neg_pos_ratio': 3,
        'model.train_cfg.ohem.nms_thr': 0.5,
        'model.train_cfg.ohem.num': 128}
    assert grid.baseline.name == 'fl'
    assert grid.published_delta(grid.variants[5]) == pytest.approx(
        27.6 - 36.0)


def test_ghm_losses_asl1_is_ghmr_with_one_region_and_no_momentum():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from imbalance_plugin.registry import MODELS
    grid = load_grid('ghm-losses')
    asl = next(v for v in grid.variants if v.name == 'ghmc-asl1')
    ghm = next(v for v in grid.variants if v.name == 'ghmc-ghmr')
    loss = Config.fromfile(str(asl.config)).model.bbox_head.loss_bbox
    reference = Config.fromfile(str(ghm.config)).model.bbox_head.loss_bbox
    assert (loss.bins, loss.momentum) == (1, 0.0)
    assert {k: v for k, v in loss.items() if k not in ('bins', 'momentum')} \
        == {k: v for k, v in reference.items()
            if k not in ('bins', 'momentum')}
    init_default_scope('mmdet')
    MODELS.build(dict(loss))   # the plugin's GHMR accepts it
    published = {v.name: (v.published.source, v.published.metrics['AP'])
                 for v in grid.variants}
    assert published == {'fl-sl1': ('table4', 35.6),
                         'ghmc-sl1': ('table4', 35.8),
                         'ghmc-asl1': ('table5', 35.7),
                         'ghmc-ghmr': ('table5', 36.4)}
    readme = {v.name: v.published_from('readme') and
              v.published_from('readme').metrics for v in grid.variants}
    assert readme == {'fl-sl1': {'AP': 35.6}, 'ghmc-sl1': {'AP': 35.8},
                      'ghmc-asl1': None, 'ghmc-ghmr': {'AP': 37.0}}


def test_pisa_numbers_compare_with_their_own_v1_baselines():
    retina = load_grid('retinanet-coco')
    pisa = next(v for v in retina.variants if v.name == 'pisa')
    assert pisa.published.metrics == {'AP': 36.9}
    assert retina.published_delta(pisa) == pytest.approx(36.9 - 35.6)
    ghm = next(v for v in retina.variants if v.name == 'ghm')
    assert retina.published_delta(ghm) == pytest.approx(37.0 - 36.5)
    faster = load_grid('faster-rcnn-coco')
    pisa = next(v for v in faster.variants if v.name == 'pisa')
    assert faster.published_delta(pisa) == pytest.approx(38.4 - 36.4)
    assert faster.baseline.published.metrics == {'AP': 37.4}
    parts = load_grid('pisa-parts')
    assert parts.published_delta(parts.variants[-1]) == pytest.approx(2.0)
    assert [v.name for v in parts.variants] == [
        'none', 'isrp', 'isrn', 'carl', 'isrp-isrn', 'all']


def test_isrp_isrn_config_has_both_parts_and_no_carl():
    from mmengine.config import Config
    grid = load_grid('pisa-parts')
    both = next(v for v in grid.variants if v.name == 'isrp-isrn')
    rcnn = Config.fromfile(str(both.config)).model.train_cfg.rcnn
    assert dict(rcnn.isr) == dict(k=2.0, bias=0.0)
    assert rcnn.sampler.type == 'imbalance_plugin.ScoreHLRSampler'
    assert 'carl' not in rcnn


def test_pisa_detectors_pairs_each_detector_with_its_pisa_row():
    grid = _load('pisa-detectors')
    published = {v.name: v.published.metrics['AP'] for v in grid.variants}
    assert published == {
        'retinanet': 35.6, 'retinanet-pisa': 36.9, 'faster-rcnn': 36.4,
        'faster-rcnn-pisa': 38.4, 'mask-rcnn': 37.3, 'mask-rcnn-pisa': 39.1,
        'ssd300': 25.6, 'ssd300-pisa': 27.6, 'ssd512': 29.3,
        'ssd512-pisa': 31.8}
    for variant in grid.variants:
        reference = grid.reference(variant)
        if variant.name.endswith('-pisa'):
            assert reference.name == variant.name[:-len('-pisa')]
            assert grid.published_delta(variant) == pytest.approx(
                published[variant.name] - published[reference.name])
        else:
            assert reference is variant
            assert grid.published_delta(variant) is None


def test_product_and_zip(tmp_path):
    path = _write(tmp_path, """
sources = dict(p='paper')
variants = [dict(config='m.py', label='M', combine={combine!r},
                 axes=[dict(name='a', key='x.a', values=[1, 2]),
                       dict(name='b', key='x.b', values=[0.5, None])],
                 baseline=dict(a=1, b=0.5),
                 published=[dict(a=2, b=None, AP=3.0, AP75=1.5)])]
""".format(combine='product'))
    grid = load_grid(str(path))
    cells = [(v.values['a'], v.values['b']) for v in grid.variants]
    assert cells == list(itertools.product([1, 2], [0.5, None]))
    assert [v.name for v in grid.variants] == [
        'a1_b0.5', 'a1_bNone', 'a2_b0.5', 'a2_bNone']
    assert grid.variants[3].label == 'M a=2,b=None'
    assert grid.variants[3].published.metrics == {'AP': 3.0, 'AP75': 1.5}
    assert grid.variants[3].published.source == 'p'
    assert [v.published for v in grid.variants[:3]] == [None] * 3
    assert grid.variants[1].cfg_options == {'x.a': 1, 'x.b': None}
    assert grid.baseline is grid.variants[0]

    path.write_text(path.read_text().replace("'product'", "'zip'"))
    grid = load_grid(str(path))
    assert [(v.values['a'], v.values['b']) for v in grid.variants] == [
        (1, 0.5), (2, None)]


def test_user_grid_file_resolves_configs_beside_it(tmp_path):
    path = _write(tmp_path, "title = 'mine'\nvariants = [dict(name='a', "
                  "config='m.py', baseline=True, cfg_options=dict(b=2), "
                  "published=36.5)]\n")
    grid = load_grid(str(path))
    assert grid.name == 'my-grid' and grid.title == 'mine'
    (v,) = grid.variants
    assert v.config == tmp_path / 'm.py' and v.label == 'a'
    assert v.cfg_options == {'b': 2}
    assert v.published.metrics == {'AP': 36.5} and v.values == {}


def test_value_text():
    assert [value_text(v) for v in (2.0, 0.25, 0.999, 3, None, [0.5, 1.0])] \
        == ['2', '0.25', '0.999', '3', 'None', '0.5-1']


AXIS = "dict(name='a', key='k', values=[1, 2])"


@pytest.mark.parametrize('variants, message', [
    ("[]", 'variants'),
    ("[dict(name='a', config='m.py')]", 'exactly one variant'),
    ("[dict(name='a', config='m.py', baseline=True), "
     "dict(name='b', config='m.py', baseline=True)]", 'exactly one variant'),
    ("[dict(name='a', config='m.py', baseline=True), "
     "dict(name='a', config='m.py')]", 'duplicate'),
    ("[dict(name='a', config='nope.py', baseline=True)]", 'not found'),
    ("[dict(name='a b', config='m.py', baseline=True)]",
     r"variants\[0\]\.name 'a b' must be letters"),
    ("[dict(name='a', config='m.py', baseline=True, colour=1)]",
     r'variants\[0\]\.colour is not a setting; variants\[0\] accepts'),
    ("[dict(config='m.py', baseline=True)]",
     r'variants\[0\]\.name: a variant without axes needs one'),
    ("[dict(name='a', config='m.py', baseline=True, combine='zip')]",
     'combine needs axes'),
    (f"[dict(config='m.py', axes=[{AXIS}], baseline=True)]",
     'baseline of a variant with axes'),
    (f"[dict(config='m.py', axes=[{AXIS}], baseline=dict(a=3))]",
     'not a cell'),
    (f"[dict(config='m.py', axes=[{AXIS}], baseline=dict(b=1))]",
     'every axis value'),
    (f"[dict(config='m.py', axes=[{AXIS}], combine='outer', "
     "baseline=dict(a=1))]", 'combine must be one of'),
    (f"[dict(config='m.py', axes=[{AXIS}, dict(name='b', key='j', "
     "values=[1])], combine='zip', baseline=dict(a=1, b=1))]", 'one length'),
    (f"[dict(config='m.py', axes=[{AXIS}, {AXIS}], baseline=dict(a=1))]",
     'duplicate axis'),
    ("[dict(config='m.py', axes=[dict(name='a', key='k')])]",
     r"variants\[0\]\.axes\[0\]\.values is required; .* needs "
     r"\['name', 'key', 'values'\]"),
    ("[dict(config='m.py', axes=[dict(name='a', key='k', values=[1], "
     "labels=['x', 'y'])], baseline=dict(a=1))]", 'labels'),
    ("[dict(config='m.py', axes=[dict(name='a', key='k', values=['a b'])], "
     "baseline=dict(a='a b'))]", "the cell name 'aa b' must be letters"),
    (f"[dict(config='m.py', axes=[{AXIS}], baseline=dict(a=1), "
     "published=[dict(a=5, AP=1)])]", 'not a cell'),
    (f"[dict(config='m.py', axes=[{AXIS}], baseline=dict(a=1), "
     "published=[dict(a=1, AP=1), dict(a=1, AP=2)])]",
     r"published\[1\]: a second published entry from source '' for the "
     'same cell'),
    ("[dict(name='a', config='m.py', baseline=True, "
     "published=[dict(AP=1), dict(AP=2)])]",
     r"published\[1\]: a second published entry from source '' for the "
     'same row'),
    (f"[dict(config='m.py', axes=[{AXIS}], baseline=dict(a=1), "
     "published=[dict(a=1, mAP=1)])]",
     r"published\[0\]\.mAP is not a metric; the metrics are \['AP', "),
    ("[dict(name='a', config='m.py', baseline=True, published='high')]",
     'published must be'),
    ("[dict(name='a', config='m.py', baseline=True, against='b')]",
     r"variants\[0\]\.against 'b' must name another variant"),
    ("[dict(name='a', config='m.py', baseline=True, against='a')]",
     r"variants\[0\]\.against 'a' must name another variant"),
])
def test_malformed_grid_raises(tmp_path, variants, message):
    path = _write(tmp_path, f'variants = {variants}\n')
    with pytest.raises(ValueError, match=message):
        load_grid(str(path))


@pytest.mark.parametrize('head, published, message', [
    ("sources = dict(p='x', q='y')", "dict(AP=1.0)", 'must name its source'),
    ("sources = dict(p='x')", "dict(source='q', AP=1.0)", "'q' is not"),
    ("sources = dict(p=dict(cite='x', year=2017))", "1.0", 'year'),
    ("sources = dict(p=dict(baseline=dict(AP=1)))", "1.0",
     r"sources\.p\.cite is required"),
    ("sources = 'paper'", "1.0", 'sources must be a dict'),
    ("source = 'paper'", "1.0",
     "source is not a setting; the top level accepts \\['variants', "),
])
def test_malformed_sources_raise(tmp_path, head, published, message):
    path = _write(tmp_path, f"{head}\nvariants = [dict(name='a', "
                  f"config='m.py', baseline=True, published={published})]\n")
    with pytest.raises(ValueError, match=message):
        load_grid(str(path))


def test_published_delta_uses_the_baseline_of_the_same_source(tmp_path):
    path = _write(tmp_path, """
sources = dict(new='v2 zoo',
               old=dict(cite='v1 README', baseline=dict(AP=35.6)))
variants = [
    dict(name='base', config='m.py', baseline=True,
         published=dict(source='new', AP=36.5)),
    dict(name='same', config='m.py', published=dict(source='new', AP=37.0)),
    dict(name='other', config='m.py', published=dict(source='old', AP=36.9)),
    dict(name='none', config='m.py'),
]
""")
    grid = load_grid(str(path))
    deltas = [grid.published_delta(v) for v in grid.variants]
    assert deltas == [None, pytest.approx(0.5), pytest.approx(1.3), None]
    assert grid.published_delta(grid.variants[1], 'AP50') is None
    assert set(METRICS) >= {'AP', 'AP50', 'AP75'}


TWO_SOURCES = """
sources = dict(paper='a paper, Table 2',
               readme=dict(cite='its README', baseline=dict(AP=30.0)))
variants = [
    dict(name='base', config='m.py', baseline=True,
         published=[dict(source='paper', AP=36.0, AP50=55.0),
                    dict(source='readme', AP=35.0)]),
    dict(name='both', config='m.py',
         published=[dict(source='paper', AP=37.0, AP50=56.5),
                    dict(source='readme', AP=36.5)]),
    dict(name='readme-only', config='m.py',
         published=[dict(source='readme', AP=33.0)]),
    dict(config='m.py', axes=[dict(name='a', key='k', values=[1, 2])],
         published=[dict(a=1, source='readme', AP=32.0),
                    dict(a=1, source='paper', AP=38.0),
                    dict(a=2, source='paper', AP=39.0)]),
]
"""


def test_a_row_carries_several_sources_each_against_its_own(tmp_path):
    grid = load_grid(str(_write(tmp_path, TWO_SOURCES)))
    base, both, readme_only, a1, a2 = grid.variants
    # the first entry is the row's main one, the others follow in order
    assert both.published.source == 'paper'
    assert [p.source for p in both.also_published] == ['readme']
    assert both.published_from('readme').metrics == {'AP': 36.5}
    assert both.published_from('zoo') is None
    assert grid.published_delta(both) == pytest.approx(1.0)
    assert grid.published_delta(both, 'AP50') == pytest.approx(1.5)
    assert grid.published_delta(
        both, published=both.published_from('readme')) == pytest.approx(1.5)
    # the baseline row's readme entry wins over the source's own baseline
    assert grid.published_reference(
        readme_only) == {'AP': 35.0}
    assert grid.published_delta(readme_only) == pytest.approx(-2.0)
    assert grid.published_delta(
        base, published=base.published_from('readme')) is None
    # a cell named once per source: its first entry is its main one
    assert (a1.published.source, a1.published.metrics['AP']) == (
        'readme', 32.0)
    assert [(p.source, p.metrics['AP']) for p in a1.also_published] == [
        ('paper', 38.0)]
    assert grid.published_delta(a1) == pytest.approx(32.0 - 35.0)
    assert grid.published_delta(
        a1, published=a1.also_published[0]) == pytest.approx(2.0)
    assert a2.also_published == ()


def test_unknown_grid_name_lists_the_builtin_ones():
    with pytest.raises(ValueError, match='retinanet-toy'):
        load_grid('no-such-grid')
