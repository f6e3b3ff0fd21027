# The Focal Loss paper's Table 1b: gamma swept, each gamma with the alpha
# the paper pairs it with; RetinaNet R-50-FPN at 600 pixels, COCO minival.
title = 'Focal Loss paper, Table 1b: γ and its α'
sources = dict(
    paper='Lin et al., Focal Loss for Dense Object Detection, ICCV 2017 '
    '(arXiv 1708.02002), Table 1b: RetinaNet R-50-FPN, 600 px, '
    'COCO minival')
_axes = [
    dict(name='gamma', key='model.bbox_head.loss_cls.gamma',
         values=[0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]),
    dict(name='alpha', key='model.bbox_head.loss_cls.alpha',
         values=[0.75, 0.75, 0.75, 0.50, 0.25, 0.25, 0.25]),
]
_published = [
    dict(gamma=0.0, alpha=0.75, AP=31.1, AP50=49.4, AP75=33.0),
    dict(gamma=0.1, alpha=0.75, AP=31.4, AP50=49.9, AP75=33.1),
    dict(gamma=0.2, alpha=0.75, AP=31.9, AP50=50.7, AP75=33.4),
    dict(gamma=0.5, alpha=0.50, AP=32.9, AP50=51.7, AP75=35.2),
    dict(gamma=1.0, alpha=0.25, AP=33.7, AP50=52.0, AP75=36.2),
    dict(gamma=2.0, alpha=0.25, AP=34.0, AP50=52.5, AP75=36.5),
    dict(gamma=5.0, alpha=0.25, AP=32.2, AP50=49.6, AP75=34.8),
]
# Cross-entropy (gamma 0) is the baseline: the deltas are what focusing adds.
variants = [
    dict(config='configs/retinanet/retinanet_r50_fpn_focal-600-1x_coco.py',
         axes=_axes, combine='zip', baseline=dict(gamma=0.0, alpha=0.75),
         published=_published),
]
