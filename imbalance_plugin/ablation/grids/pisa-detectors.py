# PISA across detectors: each detector without and with PISA, mmdet's
# published box AP (its configs/pisa/README.md; models trained with mmdet
# v1.x, so each PISA row compares with the v1.x baseline beside it, not with
# the v2 model zoo). Mask R-CNN's mask AP there: 34.2 -> 35.2 (the table
# shows box AP). Each PISA row's deltas are taken against its detector's
# baseline row (`against`).
title = 'PISA across detectors (mmdet v1.x numbers)'
sources = dict(
    mmdet='mmdet configs/pisa/README.md (models trained with mmdet v1.x), '
    'COCO val2017 box AP')
variants = [
    dict(name='retinanet', label='RetinaNet R-50-FPN', baseline=True,
         published=35.6,
         config='configs/retinanet/retinanet_r50_fpn_focal-1x_coco.py'),
    dict(name='retinanet-pisa', label='RetinaNet R-50-FPN + PISA',
         against='retinanet', published=36.9,
         config='configs/retinanet/retinanet_r50_fpn_pisa-1x_coco.py'),
    dict(name='faster-rcnn', label='Faster R-CNN R-50-FPN', published=36.4,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'),
    dict(name='faster-rcnn-pisa', label='Faster R-CNN R-50-FPN + PISA',
         against='faster-rcnn', published=38.4,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py'),
    dict(name='mask-rcnn', label='Mask R-CNN R-50-FPN', published=37.3,
         config='configs/mask_rcnn/mask-rcnn_r50_fpn_ce-1x_coco.py'),
    dict(name='mask-rcnn-pisa', label='Mask R-CNN R-50-FPN + PISA',
         against='mask-rcnn', published=39.1,
         config='configs/mask_rcnn/mask-rcnn_r50_fpn_pisa-1x_coco.py'),
    dict(name='ssd300', label='SSD300 VGG16', published=25.6,
         config='configs/ssd/ssd300_coco.py'),
    dict(name='ssd300-pisa', label='SSD300 VGG16 + PISA',
         against='ssd300', published=27.6,
         config='configs/ssd/ssd300_pisa_coco.py'),
    dict(name='ssd512', label='SSD512 VGG16', published=29.3,
         config='configs/ssd/ssd512_coco.py'),
    dict(name='ssd512-pisa', label='SSD512 VGG16 + PISA',
         against='ssd512', published=31.8,
         config='configs/ssd/ssd512_pisa_coco.py'),
]
