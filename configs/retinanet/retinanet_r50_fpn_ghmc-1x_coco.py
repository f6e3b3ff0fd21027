# RetinaNet R-50-FPN 1x, GHM-C classification + smooth L1 regression
# (the GHM paper's GHM-C row; smooth L1 with beta 0.11 as in its RetinaNet).
_base_ = './retinanet_r50_fpn_focal-1x_coco.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='imbalance_plugin.GHMC',
            bins=30,
            momentum=0.75,
            use_sigmoid=True,
            loss_weight=1.0),
        loss_bbox=dict(
            _delete_=True, type='SmoothL1Loss', beta=0.11, loss_weight=1.0)))
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
