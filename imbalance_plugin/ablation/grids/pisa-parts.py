# The PISA paper's component ablation (Cao et al., CVPR 2020, arXiv
# 1904.04821): ISR-P, ISR-N and CARL alone and together in Faster R-CNN
# R-50-FPN 1x, COCO. Published: the two rows of mmdet's PISA README, each
# PISA delta against that README's own v1.x baseline. The paper's own
# component table could not be read from any text reachable here, so none
# of its numbers is carried (docs/published.md).
title = 'PISA paper: its parts in Faster R-CNN R-50-FPN 1x'
sources = dict(
    mmdet='mmdet configs/pisa/README.md (models trained with mmdet v1.x): '
    'Faster R-CNN R-50-FPN 1x, COCO val2017')
variants = [
    dict(name='none', label='none (CE + L1)', baseline=True, published=36.4,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'),
    dict(name='isrp', label='ISR-P',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_isrp-1x_coco.py'),
    dict(name='isrn', label='ISR-N',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_isrn-1x_coco.py'),
    dict(name='carl', label='CARL',
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_carl-1x_coco.py'),
    dict(name='isrp-isrn', label='ISR-P + ISR-N', config='configs/'
         'faster_rcnn/faster-rcnn_r50_fpn_isrp-isrn-1x_coco.py'),
    dict(name='all', label='ISR-P + ISR-N + CARL (PISA)', published=38.4,
         config='configs/faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py'),
]
