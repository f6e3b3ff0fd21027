# ghm-bins on the toy: the toy RetinaNet with GHM-C + smooth L1 on the
# RetinaNet demo schedule (configs/toy/retinanet_ghmc_toy.py), each number
# of unit regions with EMA off (momentum 0, the paper's Table 1) and on
# (momentum 0.75, the paper's other tables and the COCO configs).
_base_ = './ghm-bins.py'
title = 'GHM paper, Table 1 on the toy: GHM-C unit regions, EMA off and on'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
_momentum = dict(name='momentum', key='model.bbox_head.loss_cls.momentum',
                 values=[0.0, 0.75])
variants = [
    dict(config='configs/toy/retinanet_ghmc_toy.py',
         axes=[_base_._bins, _momentum],
         baseline=dict(bins=30, momentum=0.0),
         published=[dict(cell, momentum=0.0)
                    for cell in _base_._published_bins]),
]
