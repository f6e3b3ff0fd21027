# Faster R-CNN R-50-FPN 1x, softmax Focal Loss (gamma 2) over the 80 classes and
# background in the RoI head, in place of cross-entropy.
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True,
                type='imbalance_plugin.FocalLoss',
                use_sigmoid=False,
                gamma=2.0,
                alpha=0.25,
                loss_weight=1.0))))
