# Toy Faster R-CNN: the toy RetinaNet's backbone and FPN width, a lighter RoI
# head, RPN anchors halved for the 256 px inputs, fewer proposals.
# Apply with ``model = _base_.toy_model`` in a config whose first base is a
# Faster R-CNN method config: the method's losses, sampler and heads are kept.
_base_ = ['./data.py']

toy_model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=_base_.toy_num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=256))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))
