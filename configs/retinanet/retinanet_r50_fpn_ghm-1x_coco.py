# RetinaNet R-50-FPN 1x, GHM-C + GHM-R: the GHM paper's full method
# (Li et al., AAAI 2019): 30 / 10 bins, momentum 0.75 / 0.7, ASL1 mu 0.02.
_base_ = './retinanet_r50_fpn_ghmc-1x_coco.py'

model = dict(
    bbox_head=dict(
        loss_bbox=dict(
            _delete_=True,
            type='imbalance_plugin.GHMR',
            mu=0.02,
            bins=10,
            momentum=0.7,
            loss_weight=10.0)))
