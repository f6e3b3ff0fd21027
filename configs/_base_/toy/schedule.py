# Toy schedule of the toy baselines (configs/toy/retinanet_toy.py,
# faster_rcnn_toy.py): 1500 iterations; how it was chosen is in
# docs/experiments.md. Iteration-based so that the length does not depend on
# the split's size. AdamW, linear warm-up, step decay at 2/3 and 8/9.
# Names prefixed ``toy_``; apply with e.g.
# ``train_cfg = _base_.toy_train_cfg``.
toy_max_iters = 1500

toy_train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=toy_max_iters,
    val_interval=toy_max_iters)
toy_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=min(200, toy_max_iters // 5)),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=toy_max_iters,
         milestones=[toy_max_iters * 2 // 3, toy_max_iters * 8 // 9],
         gamma=0.1),
]
toy_optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
toy_default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=2))
toy_log_processor = dict(by_epoch=False)
toy_auto_scale_lr = dict(base_batch_size=4)
