# RetinaNet R-50-FPN 1x, AP Loss (Chen et al., CVPR 2019) instead of Focal
# Loss: one minus the interpolated AP of the positives of the whole batch,
# trained by the error-driven update; delta 1, the paper's. The head ranks
# all anchors of all images in one call (mmdet's RetinaHead calls its
# classification loss per FPN level); regression as RetinaNet's.
# Everything else is mmdet's RetinaNet 1x. The authors' AP Loss numbers
# (aLRP Loss README: 35.5 AP for R-50) are of their 512 px, 100-epoch
# schedule with SSD augmentation, not of this one.
_base_ = '../retinanet/retinanet_r50_fpn_focal-1x_coco.py'

model = dict(
    bbox_head=dict(
        type='imbalance_plugin.RankingRetinaHead',
        loss_cls=dict(
            _delete_=True,
            type='imbalance_plugin.APLoss',
            delta=1.0,
            loss_weight=1.0)))
