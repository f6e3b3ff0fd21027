# focal-gamma on the toy: the same cells and published values, the toy
# RetinaNet on the short toy schedule
# (configs/toy/retinanet_focal-sweep_toy.py).
_base_ = './focal-gamma.py'
title = 'Focal Loss paper, Table 1b on the toy: γ and its α'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(config='configs/toy/retinanet_focal-sweep_toy.py',
         axes=_base_._axes, combine='zip',
         baseline=dict(gamma=0.0, alpha=0.75), published=_base_._published),
]
