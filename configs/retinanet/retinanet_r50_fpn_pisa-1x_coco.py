# RetinaNet R-50-FPN 1x, PISA (Cao et al., CVPR 2020): ISR-P + CARL on top of
# Focal Loss. ISR-P k 2 bias 0, CARL k 1 bias 0.2, smooth L1 with beta 0.11.
_base_ = './retinanet_r50_fpn_focal-1x_coco.py'

model = dict(
    bbox_head=dict(
        type='imbalance_plugin.PISARetinaHead',
        loss_bbox=dict(
            _delete_=True, type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
    train_cfg=dict(isr=dict(k=2.0, bias=0.0), carl=dict(k=1.0, bias=0.2)))
