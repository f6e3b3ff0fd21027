# focal-alpha on the toy: the same cells and published values, the toy
# RetinaNet on the short toy schedule
# (configs/toy/retinanet_focal-sweep_toy.py).
_base_ = './focal-alpha.py'
title = 'Focal Loss paper, Table 1a on the toy: α-balanced CE (γ = 0)'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(config='configs/toy/retinanet_focal-sweep_toy.py',
         axes=[_base_._alpha], baseline=dict(alpha=0.75),
         published=_base_._published),
]
