# focal-anchors on the toy: the same cells and published values, the toy
# RetinaNet on the short toy schedule
# (configs/toy/retinanet_focal-sweep_toy.py;
# its anchors start at half the COCO size, octave_base_scale 2).
_base_ = './focal-anchors.py'
title = 'Focal Loss paper, Table 1c on the toy: anchor scales x ratios'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
_toy = 'configs/toy/retinanet_focal-sweep_toy.py'
variants = [
    dict(config=_toy, axes=_base_._one_ratio,
         published=_base_._published_one),
    dict(config=_toy, axes=_base_._three_ratios,
         baseline=dict(sc=3, ar=[0.5, 1.0, 2.0]),
         published=_base_._published_three),
]
