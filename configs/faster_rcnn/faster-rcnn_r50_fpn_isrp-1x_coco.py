# Faster R-CNN R-50-FPN 1x with PISA's ISR-P alone (k 2, bias 0): positives
# reweighted by their IoU-HLR rank; random sampling, no CARL.
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(type='imbalance_plugin.PISARoIHead'),
    train_cfg=dict(rcnn=dict(isr=dict(k=2.0, bias=0.0))))
