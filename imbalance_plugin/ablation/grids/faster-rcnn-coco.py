# Faster R-CNN R-50-FPN 1x on COCO; published: mmdet model zoo box AP.
title = 'Faster R-CNN R-50-FPN 1x on COCO: CE, OHEM, Focal, GHM and PISA'
variants = [
    dict(name='ce', label='CE + L1 (baseline)', baseline=True, published=37.4,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'),
    dict(name='ohem', label='OHEM',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ohem-1x_coco.py'),
    dict(name='focal', label='softmax Focal Loss',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_focal-1x_coco.py'),
    dict(name='ghmc', label='softmax GHM-C',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ghmc-1x_coco.py'),
    dict(name='ghm', label='GHM-C + GHM-R',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ghm-1x_coco.py'),
    dict(name='pisa', label='PISA (ISR-P + ISR-N + CARL)', published=38.4,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py'),
    dict(name='isrp', label='ISR-P only',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_isrp-1x_coco.py'),
    dict(name='isrn', label='ISR-N only',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_isrn-1x_coco.py'),
    dict(name='carl', label='CARL only',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_carl-1x_coco.py'),
]
