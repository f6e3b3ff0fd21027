# pisa-methods on the toy: the toy Faster R-CNN (Faster R-CNN demo
# schedule) and the toy RetinaNet (RetinaNet demo schedule) with the same
# methods and published values.
_base_ = './pisa-methods.py'
title = 'PISA against random sampling, OHEM and Focal Loss on the toy'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='random', label='Faster R-CNN: random sampling (CE + L1)',
         baseline=True, published=_base_._published_random,
         config='configs/toy/faster-rcnn_ce_toy.py'),
    dict(name='ohem', label='Faster R-CNN: OHEM',
         config='configs/toy/faster-rcnn_ohem_toy.py'),
    dict(name='focal', label='Faster R-CNN: softmax Focal Loss',
         config='configs/toy/faster-rcnn_focal_toy.py'),
    dict(name='pisa', label='Faster R-CNN: PISA',
         published=_base_._published_pisa,
         config='configs/toy/faster-rcnn_pisa_toy.py'),
    dict(name='retinanet-fl', label='RetinaNet: Focal Loss',
         published=_base_._published_retinanet_fl,
         config='configs/toy/retinanet_focal_toy.py'),
    dict(name='retinanet-pisa', label='RetinaNet: PISA',
         against='retinanet-fl', published=_base_._published_retinanet_pisa,
         config='configs/toy/retinanet_pisa_toy.py'),
]
