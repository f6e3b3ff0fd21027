# RetinaNet R-101-FPN 1x, Focal Loss (gamma 2, alpha 0.25), at the Focal
# paper's ablation scale (shorter side 600, longer at most 1000; see the
# R-50 config it inherits): the FL row of the paper's Table 1d (R-101-FPN),
# the baseline of retinanet_r101_fpn_ohem-1x_coco.py.
_base_ = './retinanet_r50_fpn_focal-600-1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
