# RetinaNet R-50-FPN 1x, alpha-balanced cross-entropy: Focal Loss with gamma 0.
# The Focal paper's CE row (Table 1a): its best alpha for CE is 0.75.
_base_ = './retinanet_r50_fpn_focal-1x_coco.py'

model = dict(bbox_head=dict(loss_cls=dict(gamma=0.0, alpha=0.75)))
