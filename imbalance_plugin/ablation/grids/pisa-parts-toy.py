# pisa-parts on the toy: the toy Faster R-CNN on the Faster R-CNN demo
# schedule.
_base_ = './pisa-parts.py'
title = 'PISA paper: its parts in the toy Faster R-CNN'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='none', label='none (CE + L1)', baseline=True, published=36.4,
         config='configs/toy/faster-rcnn_ce_toy.py'),
    dict(name='isrp', label='ISR-P',
         config='configs/toy/faster-rcnn_isrp_toy.py'),
    dict(name='isrn', label='ISR-N',
         config='configs/toy/faster-rcnn_isrn_toy.py'),
    dict(name='carl', label='CARL',
         config='configs/toy/faster-rcnn_carl_toy.py'),
    dict(name='isrp-isrn', label='ISR-P + ISR-N',
         config='configs/toy/faster-rcnn_isrp-isrn_toy.py'),
    dict(name='all', label='ISR-P + ISR-N + CARL (PISA)', published=38.4,
         config='configs/toy/faster-rcnn_pisa_toy.py'),
]
