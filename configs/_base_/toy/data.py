# Embedded toy dataset (imbalance_plugin/datasets/toy_generator.py): 256 px
# images of small handwritten digits on clutter, 5 long-tailed classes,
# unlabelled look-alike digits. Generated into data/toy (or
# $IMBALANCE_PLUGIN_DATA) on first use.
#
# Every name is prefixed ``toy_`` so that this file can sit beside a COCO
# method config in one ``_base_`` list; a toy config applies them, e.g.
# ``train_dataloader = _base_.toy_train_dataloader``.
# ``_delete_=True`` drops the COCO dataset's keys (data_root, ann_file, ...).
toy_num_classes = 5

toy_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    # No flips: a mirrored digit is another glyph.
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='PackDetInputs'),
]
toy_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    # 'instances' lets CocoMetric build its ground truth from the dataset, so
    # the evaluator needs no path to the generated annotation file.
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'instances')),
]

# Test-time augmentation (tools/test.py --tta): three scales, no flips.
toy_tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(size, size), keep_ratio=True)
             for size in (224, 256, 288)],
            # DetTTAModel reads the flip keys of every view
            [dict(type='RandomFlip', prob=0.0)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor', 'flip', 'flip_direction',
                           'instances'))],
        ]),
]

toy_train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='imbalance_plugin.ToyDetDataset',
        data_root=None,  # None: $IMBALANCE_PLUGIN_DATA, else <repo>/data/toy
        split='train',
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=toy_train_pipeline))
toy_val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=False),
    dataset=dict(
        _delete_=True,
        type='imbalance_plugin.ToyDetDataset',
        data_root=None,
        split='val',
        test_mode=True,
        pipeline=toy_test_pipeline))
toy_test_dataloader = toy_val_dataloader

toy_val_evaluator = dict(
    _delete_=True, type='CocoMetric', metric='bbox', format_only=False)
toy_test_evaluator = toy_val_evaluator
