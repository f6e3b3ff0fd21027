# Faster R-CNN R-50-FPN 1x on COCO: the methods side by side. Each published
# number is compared with the baseline of its own source: mmdet's PISA
# model was trained with mmdet v1.x against a v1.x Faster R-CNN of 36.4,
# not against the v2 model zoo's 37.4.
title = 'Faster R-CNN R-50-FPN 1x on COCO: CE, OHEM, Focal, GHM and PISA'
sources = dict(
    zoo='mmdet v2 model zoo, R-50-FPN 1x, COCO val2017 box AP',
    pisa=dict(cite='mmdet configs/pisa/README.md (models trained with mmdet '
              'v1.x), COCO val2017 box AP', baseline=dict(AP=36.4)))
variants = [
    dict(name='ce', label='CE + L1 (baseline)', baseline=True,
         published=dict(source='zoo', AP=37.4),
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'),
    dict(name='ohem', label='OHEM',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ohem-1x_coco.py'),
    dict(name='focal', label='softmax Focal Loss',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_focal-1x_coco.py'),
    dict(name='ghmc', label='softmax GHM-C',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ghmc-1x_coco.py'),
    dict(name='ghm', label='GHM-C + GHM-R',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ghm-1x_coco.py'),
    dict(name='pisa', label='PISA (ISR-P + ISR-N + CARL)',
         published=dict(source='pisa', AP=38.4),
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py'),
    dict(name='isrp', label='ISR-P only',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_isrp-1x_coco.py'),
    dict(name='isrn', label='ISR-N only',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_isrn-1x_coco.py'),
    dict(name='carl', label='CARL only',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_carl-1x_coco.py'),
]
