# The GHM paper's ablation of the number of unit regions of GHM-C (Li et
# al., AAAI 2019, arXiv 1811.05181): GHM-C + smooth L1, RetinaNet R-50-FPN
# 1x, 1333x800. No published values: none could be read from a citable
# source here.
title = 'GHM paper: GHM-C unit regions (bins), with smooth L1'
_bins = dict(name='bins', key='model.bbox_head.loss_cls.bins',
             values=[5, 10, 20, 30, 40])
# The paper's choice, 30 regions, is the baseline.
variants = [
    dict(config='configs/retinanet/retinanet_r50_fpn_ghmc-1x_coco.py',
         axes=[_bins], baseline=dict(bins=30)),
]
