# The Focal Loss paper's Table 1c: anchor scales per octave x aspect ratios,
# Focal Loss gamma 2, alpha 0.25; RetinaNet R-50-FPN at 600 pixels. The
# paper's seven rows: 1, 2, 3 scales with one ratio, 1 to 4 with three.
title = 'Focal Loss paper, Table 1c: anchor scales (sc) x aspect ratios (ar)'
sources = dict(
    paper='Lin et al., Focal Loss for Dense Object Detection, ICCV 2017 '
    '(arXiv 1708.02002), Table 1c: RetinaNet R-50-FPN, 600 px, '
    'COCO minival')
_scales = 'model.bbox_head.anchor_generator.scales_per_octave'
_ratios = dict(name='ar', key='model.bbox_head.anchor_generator.ratios')
_one_ratio = [
    dict(name='sc', key=_scales, values=[1, 2, 3]),
    dict(_ratios, values=[[1.0]], labels=['1']),
]
_three_ratios = [
    dict(name='sc', key=_scales, values=[1, 2, 3, 4]),
    dict(_ratios, values=[[0.5, 1.0, 2.0]], labels=['3']),
]
_published_one = [
    dict(sc=1, ar=[1.0], AP=30.3, AP50=49.0, AP75=31.8),
    dict(sc=2, ar=[1.0], AP=31.9, AP50=50.0, AP75=34.0),
    dict(sc=3, ar=[1.0], AP=31.8, AP50=49.4, AP75=33.7),
]
_published_three = [
    dict(sc=1, ar=[0.5, 1.0, 2.0], AP=32.4, AP50=52.3, AP75=33.9),
    dict(sc=2, ar=[0.5, 1.0, 2.0], AP=34.2, AP50=53.1, AP75=36.5),
    dict(sc=3, ar=[0.5, 1.0, 2.0], AP=34.0, AP50=52.5, AP75=36.5),
    dict(sc=4, ar=[0.5, 1.0, 2.0], AP=33.8, AP50=52.1, AP75=36.2),
]
_config = 'configs/retinanet/retinanet_r50_fpn_focal-600-1x_coco.py'
# RetinaNet's default anchors (3 scales x 3 ratios) are the baseline.
variants = [
    dict(config=_config, axes=_one_ratio, published=_published_one),
    dict(config=_config, axes=_three_ratios,
         baseline=dict(sc=3, ar=[0.5, 1.0, 2.0]),
         published=_published_three),
]
