# Faster R-CNN R-50-FPN 1x, softmax GHM-C (30 bins, momentum 0.75) in the RoI
# head in place of cross-entropy; L1 regression unchanged.
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True,
                type='imbalance_plugin.GHMC',
                bins=30,
                momentum=0.75,
                use_sigmoid=False,
                loss_weight=1.0))))
