# pisa-bias on the toy: the toy Faster R-CNN with PISA on the Faster R-CNN
# demo schedule (configs/toy/faster-rcnn_pisa_toy.py), the same cells.
_base_ = './pisa-bias.py'
title = 'PISA: ISR-P and CARL bias in the toy Faster R-CNN'
# tools/test.py evaluates every run: skip the validation the toy schedule
# runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
_toy = 'configs/toy/faster-rcnn_pisa_toy.py'
variants = [
    dict(name='isr', label='ISR-P', config=_toy, axes=[_base_._isr_bias],
         baseline=dict(bias=0.0)),
    dict(name='carl', label='CARL', config=_toy, axes=[_base_._carl_bias]),
]
