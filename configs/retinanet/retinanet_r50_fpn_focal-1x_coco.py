# RetinaNet R-50-FPN 1x, Focal Loss (the baseline of every RetinaNet ablation).
# Focal paper settings: gamma 2, alpha 0.25 (Lin et al., ICCV 2017, Table 1).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='imbalance_plugin.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0)))
