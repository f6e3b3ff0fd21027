# RetinaNet methods on the embedded toy dataset (the RetinaNet demo schedule,
# configs/_base_/toy/schedule_demo_retinanet.py).
title = 'RetinaNet on the toy dataset: Focal Loss, CE, GHM and PISA'
# tools/test.py evaluates every variant: skip the validation that the toy
# schedule runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='focal', label='Focal Loss (baseline)', baseline=True,
         config='configs/toy/retinanet_focal_toy.py'),
    dict(name='ce', label='α-balanced CE (γ=0)',
         config='configs/toy/retinanet_ce_toy.py'),
    dict(name='ghmc', label='GHM-C + smooth L1',
         config='configs/toy/retinanet_ghmc_toy.py'),
    dict(name='ghm', label='GHM-C + GHM-R',
         config='configs/toy/retinanet_ghm_toy.py'),
    dict(name='pisa', label='PISA (ISR-P + CARL)',
         config='configs/toy/retinanet_pisa_toy.py'),
    dict(name='ghm-pisa', label='GHM-C + GHM-R + PISA',
         config='configs/toy/retinanet_ghm-pisa_toy.py'),
]
