# Ranking-based classification losses in RetinaNet R-50-FPN 1x on COCO:
# Focal Loss (the baseline), AP Loss and aLRP Loss (docs/ranking.md). The
# configs keep mmdet's 1x schedule; the authors' numbers are of their own
# schedule (512 px, 100 epochs, SSD augmentation: the aLRP Loss README), so
# they are shown beside the runs as that source's, with no baseline of it
# and so no published delta. RS Loss's detectors (RS-ATSS 39.9, RS-R-CNN
# 39.6, RS-Mask R-CNN 40.0 box / 36.4 mask, R-50 1x: the RankSortLoss
# README) have no configs here yet.
title = 'Ranking-based losses in RetinaNet R-50-FPN on COCO'
sources = dict(
    zoo='mmdet v2 model zoo, R-50-FPN 1x, COCO val2017 box AP',
    alrp='aLRP Loss README (github.com/kemaloksuz/aLRPLoss), R-50, 512 px, '
    '100 epochs, COCO minival box AP (another schedule than these configs)')
variants = [
    dict(name='focal', label='Focal Loss (baseline)', baseline=True,
         published=dict(source='zoo', AP=36.5),
         config='configs/retinanet/retinanet_r50_fpn_focal-1x_coco.py'),
    dict(name='ap-loss', label='AP Loss',
         published=dict(source='alrp', AP=35.5),
         config='configs/ranking/retinanet_r50_fpn_ap-loss-1x_coco.py'),
    dict(name='alrp', label='aLRP Loss',
         published=dict(source='alrp', AP=38.9),
         config='configs/ranking/retinanet_r50_fpn_alrp-1x_coco.py'),
]
