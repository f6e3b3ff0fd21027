# RetinaNet R-50-FPN 1x on COCO; published: mmdet model zoo box AP.
title = 'RetinaNet R-50-FPN 1x on COCO: Focal Loss, CE, GHM and PISA'
variants = [
    dict(name='focal', label='Focal Loss (baseline)', baseline=True,
         published=36.5,
         config='configs/retinanet/retinanet_r50_fpn_focal-1x_coco.py'),
    dict(name='ce', label='α-balanced CE (γ=0)',
         config='configs/retinanet/retinanet_r50_fpn_ce-1x_coco.py'),
    dict(name='ghmc', label='GHM-C + smooth L1',
         config='configs/retinanet/retinanet_r50_fpn_ghmc-1x_coco.py'),
    dict(name='ghm', label='GHM-C + GHM-R', published=37.0,
         config='configs/retinanet/retinanet_r50_fpn_ghm-1x_coco.py'),
    dict(name='pisa', label='PISA (ISR-P + CARL)', published=36.9,
         config='configs/retinanet/retinanet_r50_fpn_pisa-1x_coco.py'),
    dict(name='ghm-pisa', label='GHM-C + GHM-R + PISA',
         config='configs/retinanet/retinanet_r50_fpn_ghm-pisa-1x_coco.py'),
]
