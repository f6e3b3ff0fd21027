# The GHM losses against Focal Loss and against each other: classification
# FL vs GHM-C, regression smooth L1 vs Authentic Smooth L1 (ASL1) vs GHM-R
# with GHM-C. RetinaNet R-50-FPN 1x, 1333x800, COCO minival. ASL1 is GHM-R
# with a single unit region and no momentum (every density weight 1):
# configs/retinanet/retinanet_r50_fpn_ghmc-asl1-1x_coco.py.
title = 'GHM: FL vs GHM-C, smooth L1 vs ASL1 vs GHM-R'
sources = dict(
    readme='README of the GHM authors\' code, libuyu/GHM_Detection: '
    'RetinaNet R-50-FPN 1x, COCO minival')
variants = [
    dict(name='fl-sl1', label='FL + smooth L1', baseline=True,
         published=35.6,
         config='configs/retinanet/retinanet_r50_fpn_focal-sl1-1x_coco.py'),
    dict(name='ghmc-sl1', label='GHM-C + smooth L1', published=35.8,
         config='configs/retinanet/retinanet_r50_fpn_ghmc-1x_coco.py'),
    dict(name='ghmc-asl1', label='GHM-C + ASL1',
         config='configs/retinanet/retinanet_r50_fpn_ghmc-asl1-1x_coco.py'),
    dict(name='ghmc-ghmr', label='GHM-C + GHM-R', published=37.0,
         config='configs/retinanet/retinanet_r50_fpn_ghm-1x_coco.py'),
]
