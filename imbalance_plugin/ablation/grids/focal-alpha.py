# The Focal Loss paper's Table 1a: alpha-balanced cross-entropy (gamma 0),
# alpha swept; RetinaNet R-50-FPN at 600 pixels, COCO trainval35k / minival.
title = 'Focal Loss paper, Table 1a: α-balanced CE (γ = 0), α swept'
sources = dict(
    paper='Lin et al., Focal Loss for Dense Object Detection, ICCV 2017 '
    '(arXiv 1708.02002), Table 1a: RetinaNet R-50-FPN, 600 px, '
    'COCO minival')
cfg_options = {'model.bbox_head.loss_cls.gamma': 0.0}
_alpha = dict(name='alpha', key='model.bbox_head.loss_cls.alpha',
              values=[0.10, 0.25, 0.50, 0.75, 0.90, 0.99, 0.999])
_published = [
    dict(alpha=0.10, AP=0.0, AP50=0.0, AP75=0.0),
    dict(alpha=0.25, AP=10.8, AP50=16.0, AP75=11.7),
    dict(alpha=0.50, AP=30.2, AP50=46.7, AP75=32.8),
    dict(alpha=0.75, AP=31.1, AP50=49.4, AP75=33.0),
    dict(alpha=0.90, AP=30.8, AP50=49.7, AP75=32.3),
    dict(alpha=0.99, AP=28.7, AP50=47.4, AP75=29.9),
    dict(alpha=0.999, AP=25.1, AP50=41.7, AP75=26.1),
]
# The paper's CE row (its best alpha) is the baseline.
variants = [
    dict(config='configs/retinanet/retinanet_r50_fpn_focal-600-1x_coco.py',
         axes=[_alpha], baseline=dict(alpha=0.75), published=_published),
]
