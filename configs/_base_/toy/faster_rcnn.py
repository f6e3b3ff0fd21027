# Toy Faster R-CNN: the toy backbone and FPN (backbone.py), a lighter RoI
# head, RPN anchors halved for the 256 px inputs, fewer proposals.
# Apply with ``model = _base_.toy_model`` in a config whose first base is a
# Faster R-CNN method config: the method's losses, sampler and heads are kept.
_base_ = ['./data.py', './backbone.py']

toy_model = dict(
    backbone=_base_.toy_backbone,
    neck=_base_.toy_neck,
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256,
                       num_classes=_base_.toy_num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=256))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))
