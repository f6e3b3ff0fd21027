# RetinaNet R-50-FPN 1x, Focal Loss, at the training setting of the Focal
# Loss paper's ablations (Lin et al., ICCV 2017, Section 5.1 and Table 1:
# "train and test at 600 pixels"): shorter side 600, longer side at most
# 1000 (Detectron's TRAIN.MAX_SIZE default beside its 600 scale). 90k
# iterations at 16 images is mmdet's 1x schedule, kept. The base config of
# the focal-alpha, focal-gamma and focal-anchors grids.
_base_ = './retinanet_r50_fpn_focal-1x_coco.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
