# ranking-losses (RetinaNet, and ATSS and Faster R-CNN for RS Loss) on the
# embedded toy dataset (the one-stage detectors on the RetinaNet demo
# schedule, configs/_base_/toy/schedule_demo_retinanet.py, RS-R-CNN on the
# Faster R-CNN one, schedule_demo.py); no published values.
title = ('Ranking-based losses in RetinaNet, ATSS and Faster R-CNN on the '
         'toy dataset')
# tools/test.py evaluates every variant: skip the validation that the toy
# schedule runs at the end of training, it would evaluate the same split twice.
cfg_options = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)
variants = [
    dict(name='focal', label='Focal Loss (baseline)', baseline=True,
         config='configs/toy/retinanet_focal_toy.py'),
    dict(name='ap-loss', label='AP Loss',
         config='configs/toy/retinanet_ap-loss_toy.py'),
    dict(name='alrp', label='aLRP Loss',
         config='configs/toy/retinanet_alrp_toy.py'),
    dict(name='rs-atss', label='RS-ATSS (Rank & Sort Loss)',
         config='configs/toy/atss_rank-sort_toy.py'),
    dict(name='rs-rcnn', label='RS-R-CNN (Rank & Sort Loss)',
         config='configs/toy/faster-rcnn_rank-sort_toy.py'),
]
