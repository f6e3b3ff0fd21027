# Toy RetinaNet: the toy backbone and FPN (backbone.py), head at 64 channels,
# anchors halved for the 256 px inputs (the COCO anchors start at 32 px; toy
# digits are 10-35 px boxes).
# Apply with ``model = _base_.toy_model`` in a config whose first base is a
# RetinaNet method config: the method's losses and head type are kept.
_base_ = ['./data.py', './backbone.py']

toy_model = dict(
    backbone=_base_.toy_backbone,
    neck=_base_.toy_neck,
    bbox_head=dict(
        num_classes=_base_.toy_num_classes,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        anchor_generator=dict(octave_base_scale=2)))
