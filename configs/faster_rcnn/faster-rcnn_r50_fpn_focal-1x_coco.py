# Faster R-CNN R-50-FPN 1x, softmax Focal Loss (gamma 2) over the 80
# classes and background in the RoI head, in place of cross-entropy. No
# alpha balancing: the RoI sampler already fixes the foreground:background
# ratio (1:3).
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True,
                type='imbalance_plugin.FocalLoss',
                use_sigmoid=False,
                gamma=2.0,
                alpha=None,
                loss_weight=1.0))))
