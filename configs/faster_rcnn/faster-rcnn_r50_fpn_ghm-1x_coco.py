# Faster R-CNN R-50-FPN 1x, softmax GHM-C + GHM-R (ASL1 mu 0.02, 10 bins,
# momentum 0.7) in the RoI head.
_base_ = './faster-rcnn_r50_fpn_ghmc-1x_coco.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_bbox=dict(
                _delete_=True,
                type='imbalance_plugin.GHMR',
                mu=0.02,
                bins=10,
                momentum=0.7,
                loss_weight=1.0))))
