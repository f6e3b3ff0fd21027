# RetinaNet R-101-FPN 1x at the 600-pixel scale, sigmoid cross-entropy with
# online hard example mining instead of the Focal Loss: the OHEM rows of the
# Focal paper's Table 1d (Lin et al., ICCV 2017). Defaults: its best OHEM
# row, 128 anchors per image at NMS 0.5, no positive:negative ratio
# (32.8 AP against FL's 36.0). See docs/ohem.md.
_base_ = './retinanet_r101_fpn_focal-600-1x_coco.py'

model = dict(
    bbox_head=dict(
        type='imbalance_plugin.OHEMRetinaHead',
        # Plain sigmoid cross-entropy: the focal loss with gamma 0, no alpha.
        loss_cls=dict(gamma=0.0, alpha=None)),
    train_cfg=dict(ohem=dict(num=128, nms_thr=0.5, neg_pos_ratio=None)))
