# Toy SSD: the toy backbone (backbone.py) with a three-level FPN (strides 8,
# 16, 32 of the 256 px inputs) in place of VGG-16 and SSD's extra layers, one
# 3x3 prediction conv per level as in SSD, and SSD anchors sized for toy
# digit boxes (mostly 12-32 px wide, 19-44 px tall): base sizes 16, 32, 64
# and the geometric means with the next level's, each at ratios 1, 1/2 and 2.
# Of first base sizes 12, 14 and 16, 16 gives the most training digits an
# anchor of IoU >= 0.5 (SSD's positive threshold): 95% against 85% and 91%.
# The toy backbone's normalisation (ImageNet mean and std, not SSD's std of
# 1), inputs padded to 32 for the FPN.
# Apply with ``model = _base_.toy_model`` in a config whose first base is an
# SSD method config: the method's head type and train_cfg are kept.
_base_ = ['./data.py', './backbone.py']

toy_model = dict(
    data_preprocessor=dict(std=[58.395, 57.12, 57.375], pad_size_divisor=32),
    backbone=_base_.toy_backbone,
    neck=dict(
        _delete_=True,
        type='FPN',
        in_channels=[16, 32, 64, 128],
        out_channels=64,
        start_level=1,
        num_outs=3),
    bbox_head=dict(
        num_classes=_base_.toy_num_classes,
        in_channels=(64, 64, 64),
        anchor_generator=dict(
            _delete_=True,
            type='SSDAnchorGenerator',
            scale_major=False,
            strides=[8, 16, 32],
            ratios=[[2], [2], [2]],
            min_sizes=[16, 32, 64],
            max_sizes=[32, 64, 128])))
