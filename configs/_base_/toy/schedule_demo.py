# Toy schedule of the Faster R-CNN toy grid (faster-rcnn-toy). The baseline
# schedule (schedule.py: AdamW at 2e-3, warm-up, grad clipping, hooks) cut
# to 500 iterations with one step decay at 5/6. RetinaNet's demo has its own
# (schedule_demo_retinanet.py).
# Names prefixed ``toy_``; apply with e.g.
# ``train_cfg = _base_.toy_train_cfg``.
_base_ = './schedule.py'

toy_max_iters = 500

toy_train_cfg = dict(max_iters=toy_max_iters, val_interval=toy_max_iters)
toy_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=min(200, toy_max_iters // 5)),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=toy_max_iters,
         milestones=[toy_max_iters * 5 // 6],
         gamma=0.1),
]
toy_default_hooks = dict(checkpoint=dict(interval=250))
