# ghm-bins on the toy: the toy RetinaNet with GHM-C + smooth L1 on the
# RetinaNet demo schedule (configs/toy/retinanet_ghmc_toy.py).
_base_ = './ghm-bins.py'
title = 'GHM paper: GHM-C unit regions (bins) on the toy'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(config='configs/toy/retinanet_ghmc_toy.py', axes=[_base_._bins],
         baseline=dict(bins=30)),
]
