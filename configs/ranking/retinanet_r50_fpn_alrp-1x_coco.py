# RetinaNet R-50-FPN 1x, aLRP Loss (Oksuz et al., NeurIPS 2020) for both
# classification and localisation: the localisation error of a positive is
# its GIoU loss (1 - GIoU, the authors' choice), the localisation component
# is self-balanced (weight 50 for the first epoch, then the ratio of the
# previous epoch's components; sb_period: the 7330 iterations of a COCO
# epoch at mmdet's 16 images per batch); delta 1, the paper's.
# Everything else is mmdet's RetinaNet 1x; the authors train 100 epochs at
# 512 px with SSD augmentation, 2 anchor scales per octave and lr 0.008
# (aLRP Loss README: 38.9 AP for R-50), so their numbers are not this
# schedule's.
_base_ = '../retinanet/retinanet_r50_fpn_focal-1x_coco.py'

model = dict(
    bbox_head=dict(
        type='imbalance_plugin.aLRPRetinaHead',
        loss_cls=dict(
            _delete_=True,
            type='imbalance_plugin.aLRPLoss',
            delta=1.0,
            sb_init=50.0,
            sb_period=7330,
            loss_weight=1.0),
        loss_bbox=dict(
            _delete_=True, type='GIoULoss', reduction='none',
            loss_weight=1.0)))
