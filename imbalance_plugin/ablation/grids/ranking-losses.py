# Ranking-based classification losses on COCO, R-50-FPN 1x: Focal Loss
# (the baseline), AP Loss and aLRP Loss in RetinaNet, Rank & Sort Loss in
# ATSS (RS-ATSS) and in Faster R-CNN's RPN and RoI head (RS-R-CNN;
# docs/ranking.md). The RetinaNet configs keep mmdet's 1x schedule; the
# authors' AP / aLRP numbers are of their own schedule (512 px, 100 epochs,
# SSD augmentation: the aLRP Loss README), so they are shown beside the runs
# as that source's, with no baseline of it and so no published delta.
# RS-ATSS and RS-R-CNN are the authors' 1x settings (their README), each
# published delta taken against its own source's baseline, mmdet's ATSS R-50
# 1x and Faster R-CNN R-50 1x (the grid trains neither, so the runs' deltas
# are against Focal Loss RetinaNet). RS-Mask R-CNN likewise, against mmdet's
# Mask R-CNN R-50-FPN 1x; its published mask AP (36.4, baseline 34.7) is in
# the source's text, the grid's columns being box AP. It has no toy twin:
# the toy dataset has no masks.
title = ('Ranking-based losses in RetinaNet, ATSS, Faster R-CNN and Mask '
         'R-CNN R-50-FPN on COCO')
sources = dict(
    zoo='mmdet v2 model zoo, R-50-FPN 1x, COCO val2017 box AP',
    alrp='aLRP Loss README (github.com/kemaloksuz/aLRPLoss), R-50, 512 px, '
    '100 epochs, COCO minival box AP (another schedule than these configs)',
    rs_atss=dict(
        cite='RankSortLoss README (github.com/kemaloksuz/RankSortLoss), '
        'RS-ATSS R-50, 12 epochs, lr 0.008 for 16 images, COCO minival box '
        'AP; its baseline: mmdet v2 model zoo ATSS R-50-FPN 1x '
        '(configs/atss/metafile.yml), COCO val2017 box AP',
        baseline=dict(AP=39.4)),
    rs_rcnn=dict(
        cite='RankSortLoss README (github.com/kemaloksuz/RankSortLoss), '
        'RS-R-CNN R-50, 12 epochs, lr 0.012 for 16 images, COCO minival box '
        'AP; its baseline: mmdet v2 model zoo Faster R-CNN R-50-FPN 1x '
        '(configs/faster_rcnn/metafile.yml), COCO val2017 box AP',
        baseline=dict(AP=37.4)),
    rs_mask=dict(
        cite='RankSortLoss README (github.com/kemaloksuz/RankSortLoss), '
        'RS-Mask R-CNN R-50, 12 epochs, lr 0.012 for 16 images, COCO minival '
        'box AP (mask AP 36.4); its baseline: mmdet Mask R-CNN R-50-FPN 1x '
        '(configs/mask_rcnn/metafile.yml), COCO val2017 box AP (mask AP '
        '34.7)',
        baseline=dict(AP=38.2)))
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
    dict(name='rs-atss', label='RS-ATSS (Rank & Sort Loss)',
         published=dict(source='rs_atss', AP=39.9),
         config='configs/ranking/atss_r50_fpn_rank-sort-1x_coco.py'),
    dict(name='rs-rcnn', label='RS-R-CNN (Rank & Sort Loss)',
         published=dict(source='rs_rcnn', AP=39.6),
         config='configs/ranking/faster-rcnn_r50_fpn_rank-sort-1x_coco.py'),
    dict(name='rs-mask-rcnn', label='RS-Mask R-CNN (Rank & Sort Loss)',
         published=dict(source='rs_mask', AP=40.0),
         config='configs/ranking/mask-rcnn_r50_fpn_rank-sort-1x_coco.py'),
]
