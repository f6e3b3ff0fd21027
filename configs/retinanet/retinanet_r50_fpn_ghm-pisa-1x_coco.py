# RetinaNet R-50-FPN 1x, GHM-C + GHM-R + PISA (ISR-P + CARL). The plugin's GHM
# losses multiply by the label weights, so ISR-P's weights take effect here.
_base_ = './retinanet_r50_fpn_ghm-1x_coco.py'

model = dict(
    bbox_head=dict(type='imbalance_plugin.PISARetinaHead'),
    train_cfg=dict(isr=dict(k=2.0, bias=0.0), carl=dict(k=1.0, bias=0.2)))
