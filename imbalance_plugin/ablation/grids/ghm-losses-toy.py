# ghm-losses on the toy: the toy RetinaNet on the RetinaNet demo schedule.
# The toy schedule already clips gradients at 35; FL + smooth L1 and ASL1
# are the toy Focal and GHM configs with the COCO configs' changes.
_base_ = './ghm-losses.py'
title = 'GHM on the toy: FL vs GHM-C, smooth L1 vs ASL1 vs GHM-R'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='fl-sl1', label='FL + smooth L1', baseline=True,
         published=_base_._published_fl_sl1,
         config='configs/toy/retinanet_focal_toy.py',
         cfg_options={'model.bbox_head.loss_bbox.type': 'SmoothL1Loss',
                      'model.bbox_head.loss_bbox.beta': 0.11}),
    dict(name='ghmc-sl1', label='GHM-C + smooth L1',
         published=_base_._published_ghmc_sl1,
         config='configs/toy/retinanet_ghmc_toy.py'),
    dict(name='ghmc-asl1', label='GHM-C + ASL1',
         published=_base_._published_ghmc_asl1,
         config='configs/toy/retinanet_ghm_toy.py',
         cfg_options={'model.bbox_head.loss_bbox.bins': 1,
                      'model.bbox_head.loss_bbox.momentum': 0.0}),
    dict(name='ghmc-ghmr', label='GHM-C + GHM-R',
         published=_base_._published_ghmc_ghmr,
         config='configs/toy/retinanet_ghm_toy.py'),
]
