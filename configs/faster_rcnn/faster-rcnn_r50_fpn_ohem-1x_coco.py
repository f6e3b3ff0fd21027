# Faster R-CNN R-50-FPN 1x with online hard example mining in the RoI head
# (mmdet's stock OHEMSampler): the hard-mining baseline PISA is compared with.
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(train_cfg=dict(rcnn=dict(sampler=dict(type='OHEMSampler'))))
