# RetinaNet R-50-FPN, GHM-C + smooth L1 in the setting of the GHM paper's
# Table 1 (Li et al., AAAI 2019, arXiv 1811.05181): 14 epochs with the
# learning rate divided by 10 at epochs 9 and 12, and the gradient density
# of each batch alone (EMA off: momentum 0). Everything else is
# retinanet_r50_fpn_ghmc-1x_coco.py: 30 unit regions, smooth L1 beta 0.11,
# gradient clip 35, 1333x800, 8 GPUs x 2 images, the 1x warm-up.
_base_ = './retinanet_r50_fpn_ghmc-1x_coco.py'

model = dict(bbox_head=dict(loss_cls=dict(momentum=0.0)))

train_cfg = dict(max_epochs=14)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=14,
         milestones=[9, 12], gamma=0.1),
]
