# PISA against random sampling and the hard-mining schemes it is compared
# with in its paper (Cao et al., CVPR 2020, arXiv 1904.04821; its abstract:
# PISA outperforms random sampling, OHEM and Focal Loss by around 2% on
# single- and two-stage detectors). R-50-FPN 1x, COCO: Faster R-CNN with
# random sampling (baseline), OHEM, softmax Focal Loss and PISA; RetinaNet
# with Focal Loss and PISA, compared with each other (`against`). The
# paper's table itself could not be read from any text reachable here:
# which detector it pairs with which scheme is not checked and none of its
# numbers is carried. Published: mmdet's PISA README, whose models were
# trained with mmdet v1.x, each PISA row against that README's own v1.x
# baseline (docs/published.md).
title = 'PISA against random sampling, OHEM and Focal Loss (R-50-FPN 1x)'
sources = dict(
    mmdet='mmdet configs/pisa/README.md (models trained with mmdet v1.x), '
    'R-50-FPN 1x, COCO val2017 box AP')
_published_random = 36.4
_published_pisa = 38.4
_published_retinanet_fl = 35.6
_published_retinanet_pisa = 36.9
variants = [
    dict(name='random', label='Faster R-CNN: random sampling (CE + L1)',
         baseline=True, published=_published_random,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'),
    dict(name='ohem', label='Faster R-CNN: OHEM',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ohem-1x_coco.py'),
    dict(name='focal', label='Faster R-CNN: softmax Focal Loss',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_focal-1x_coco.py'),
    dict(name='pisa', label='Faster R-CNN: PISA', published=_published_pisa,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py'),
    dict(name='retinanet-fl', label='RetinaNet: Focal Loss',
         published=_published_retinanet_fl,
         config='configs/retinanet/retinanet_r50_fpn_focal-1x_coco.py'),
    dict(name='retinanet-pisa', label='RetinaNet: PISA',
         against='retinanet-fl', published=_published_retinanet_pisa,
         config='configs/retinanet/retinanet_r50_fpn_pisa-1x_coco.py'),
]
