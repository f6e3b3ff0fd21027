# Toy RetinaNet: ResNet-18 at a quarter of its width, trained from scratch,
# FPN and head at 64 channels, anchors halved for the 256 px inputs (the
# COCO anchors start at 32 px; toy digits are 10-35 px boxes).
# Apply with ``model = _base_.toy_model`` in a config whose first base is a
# RetinaNet method config: the method's losses and head type are kept.
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
    bbox_head=dict(
        num_classes=_base_.toy_num_classes,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        anchor_generator=dict(octave_base_scale=2)))
