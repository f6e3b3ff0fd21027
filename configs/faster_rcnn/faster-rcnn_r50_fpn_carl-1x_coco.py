# Faster R-CNN R-50-FPN 1x with PISA's CARL alone (k 1, bias 0.2): regression
# loss weighted by the classification score; random sampling, no ISR-P.
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(type='imbalance_plugin.PISARoIHead'),
    train_cfg=dict(rcnn=dict(carl=dict(k=1.0, bias=0.2))))
