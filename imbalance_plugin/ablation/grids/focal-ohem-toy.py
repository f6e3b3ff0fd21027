# focal-ohem on the toy: the same cells and published values, the toy
# RetinaNet (its backbone in place of R-101) with OHEM and with Focal Loss.
_base_ = './focal-ohem.py'
title = 'Focal Loss paper, Table 1d on the toy: OHEM vs Focal Loss'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='ohem', label='OHEM', axes=_base_._ohem_axes,
         config='configs/toy/retinanet_ohem_toy.py',
         cfg_options={'model.train_cfg.ohem.neg_pos_ratio': None},
         published=_base_._published_ohem),
    dict(name='ohem-1-3', label='OHEM 1:3', axes=_base_._ratio_axes,
         config='configs/toy/retinanet_ohem_toy.py',
         cfg_options={'model.train_cfg.ohem.neg_pos_ratio': 3},
         published=_base_._published_ratio),
    dict(name='fl', label='FL', baseline=True,
         published=_base_._published_fl,
         config='configs/toy/retinanet_focal_toy.py'),
]
