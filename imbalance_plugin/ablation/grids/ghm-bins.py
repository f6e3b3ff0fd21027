# The GHM paper's Table 1 (Li et al., AAAI 2019, arXiv 1811.05181): GHM-C
# with M unit regions, smooth L1 regression, EMA off. RetinaNet R-50-FPN,
# 800 px, 14 epochs with the learning rate divided at epochs 9 and 12, COCO
# minival: configs/retinanet/retinanet_r50_fpn_ghmc-table1-14e_coco.py.
# Published values as docs/published.md transcribes them.
title = 'GHM paper, Table 1: GHM-C unit regions (bins), EMA off'
sources = dict(
    paper='Li et al., Gradient Harmonized Single-stage Detector, AAAI 2019 '
    '(arXiv 1811.05181), Table 1: GHM-C + smooth L1, EMA off, RetinaNet '
    'R-50-FPN, 800 px, 14 epochs (lr / 10 at epochs 9 and 12), COCO minival')
_bins = dict(name='bins', key='model.bbox_head.loss_cls.bins',
             values=[5, 10, 20, 30, 40])
_published_bins = [
    dict(bins=5, AP=33.4, AP50=51.7, AP75=35.6, APs=18.6, APm=36.8,
         APl=45.7),
    dict(bins=10, AP=34.6, AP50=53.9, AP75=36.5, APs=19.5, APm=37.1,
         APl=46.1),
    dict(bins=20, AP=35.2, AP50=54.4, AP75=36.9, APs=19.4, APm=38.4,
         APl=46.3),
    dict(bins=30, AP=35.8, AP50=55.5, AP75=38.1, APs=19.6, APm=39.6,
         APl=46.7),
    dict(bins=40, AP=35.4, AP50=54.8, AP75=36.3, APs=19.5, APm=38.5,
         APl=46.3),
]
# The paper's choice, 30 regions, is the baseline.
variants = [
    dict(config='configs/retinanet/retinanet_r50_fpn_ghmc-table1-14e_coco.py',
         axes=[_bins], baseline=dict(bins=30), published=_published_bins),
]
