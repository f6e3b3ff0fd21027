# pisa-detectors on the toy: the rows the toy data can serve (it has no
# masks: no Mask R-CNN; one toy SSD stands for SSD300 and SSD512, without
# published values since it is neither).
_base_ = './pisa-detectors.py'
title = 'PISA across detectors on the toy'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='retinanet', label='RetinaNet', baseline=True,
         published=35.6, config='configs/toy/retinanet_focal_toy.py'),
    dict(name='retinanet-pisa', label='RetinaNet + PISA',
         against='retinanet', published=36.9,
         config='configs/toy/retinanet_pisa_toy.py'),
    dict(name='faster-rcnn', label='Faster R-CNN', published=36.4,
         config='configs/toy/faster-rcnn_ce_toy.py'),
    dict(name='faster-rcnn-pisa', label='Faster R-CNN + PISA',
         against='faster-rcnn', published=38.4,
         config='configs/toy/faster-rcnn_pisa_toy.py'),
    dict(name='ssd', label='SSD', config='configs/toy/ssd_toy.py'),
    dict(name='ssd-pisa', label='SSD + PISA', against='ssd',
         config='configs/toy/ssd_pisa_toy.py'),
]
