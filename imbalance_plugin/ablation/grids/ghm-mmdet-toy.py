# GHM on the toy, the plugin's against mmdet 3.3.0's own GHMC and GHMR in
# the same toy configs: whether the toy's GHM gap belongs to the method on
# this data or to the plugin. The plugin's rows are ghm-losses-toy's cells.
title = 'GHM on the toy: the plugin\'s GHM-C / GHM-R against mmdet\'s'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
_mmdet_ghmc = {'model.bbox_head.loss_cls.type': 'mmdet.GHMC'}
_mmdet_ghmr = {'model.bbox_head.loss_bbox.type': 'mmdet.GHMR'}
variants = [
    dict(name='ghmc-sl1', label='GHM-C + smooth L1 (plugin)', baseline=True,
         config='configs/toy/retinanet_ghmc_toy.py'),
    dict(name='mmdet-ghmc-sl1', label='GHM-C + smooth L1 (mmdet)',
         config='configs/toy/retinanet_ghmc_toy.py',
         cfg_options=_mmdet_ghmc),
    dict(name='ghmc-ghmr', label='GHM-C + GHM-R (plugin)',
         against='ghmc-sl1',
         config='configs/toy/retinanet_ghm_toy.py'),
    dict(name='mmdet-ghmc-ghmr', label='GHM-C + GHM-R (mmdet)',
         against='ghmc-ghmr',
         config='configs/toy/retinanet_ghm_toy.py',
         cfg_options={**_mmdet_ghmc, **_mmdet_ghmr}),
]
