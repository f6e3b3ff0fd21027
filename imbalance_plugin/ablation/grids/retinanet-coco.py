# RetinaNet R-50-FPN 1x on COCO: the methods side by side. Each published
# number is compared with the baseline of its own source: mmdet's PISA
# model was trained with mmdet v1.x against a v1.x RetinaNet of 35.6, not
# against the v2 model zoo's 36.5.
title = 'RetinaNet R-50-FPN 1x on COCO: Focal Loss, CE, GHM and PISA'
sources = dict(
    zoo='mmdet v2 model zoo, R-50-FPN 1x, COCO val2017 box AP',
    pisa=dict(cite='mmdet configs/pisa/README.md (models trained with mmdet '
              'v1.x), COCO val2017 box AP', baseline=dict(AP=35.6)))
variants = [
    dict(name='focal', label='Focal Loss (baseline)', baseline=True,
         published=dict(source='zoo', AP=36.5),
         config='configs/retinanet/retinanet_r50_fpn_focal-1x_coco.py'),
    dict(name='ce', label='α-balanced CE (γ=0)',
         config='configs/retinanet/retinanet_r50_fpn_ce-1x_coco.py'),
    dict(name='ghmc', label='GHM-C + smooth L1',
         config='configs/retinanet/retinanet_r50_fpn_ghmc-1x_coco.py'),
    dict(name='ghm', label='GHM-C + GHM-R',
         published=dict(source='zoo', AP=37.0),
         config='configs/retinanet/retinanet_r50_fpn_ghm-1x_coco.py'),
    dict(name='pisa', label='PISA (ISR-P + CARL)',
         published=dict(source='pisa', AP=36.9),
         config='configs/retinanet/retinanet_r50_fpn_pisa-1x_coco.py'),
    dict(name='ghm-pisa', label='GHM-C + GHM-R + PISA',
         config='configs/retinanet/retinanet_r50_fpn_ghm-pisa-1x_coco.py'),
]
