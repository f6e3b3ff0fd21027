# Faster R-CNN methods on the embedded toy dataset (the Faster R-CNN demo
# schedule, configs/_base_/toy/schedule_demo.py).
title = 'Faster R-CNN on the toy dataset: CE, OHEM, Focal, GHM and PISA'
# tools/test.py evaluates every variant: skip the validation that the toy
# schedule runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='ce', label='CE + L1 (baseline)', baseline=True,
         config='configs/toy/faster-rcnn_ce_toy.py'),
    dict(name='ohem', label='OHEM',
         config='configs/toy/faster-rcnn_ohem_toy.py'),
    dict(name='focal', label='softmax Focal Loss',
         config='configs/toy/faster-rcnn_focal_toy.py'),
    dict(name='ghmc', label='softmax GHM-C',
         config='configs/toy/faster-rcnn_ghmc_toy.py'),
    dict(name='ghm', label='GHM-C + GHM-R',
         config='configs/toy/faster-rcnn_ghm_toy.py'),
    dict(name='pisa', label='PISA (ISR-P + ISR-N + CARL)',
         config='configs/toy/faster-rcnn_pisa_toy.py'),
    dict(name='isrp', label='ISR-P only',
         config='configs/toy/faster-rcnn_isrp_toy.py'),
    dict(name='isrn', label='ISR-N only',
         config='configs/toy/faster-rcnn_isrn_toy.py'),
    dict(name='carl', label='CARL only',
         config='configs/toy/faster-rcnn_carl_toy.py'),
]
