# Toy schedule of the RetinaNet demo (make demo). The baseline schedule
# (schedule.py: AdamW, warm-up, grad clipping, hooks) at 1000 iterations, one
# step decay at 5/6, and half its learning rate: at 2e-3, GHM-R's regression
# gradient plus CARL's (GHM-C + GHM-R + PISA) stops RetinaNet's regression
# branch from learning, at 1e-3 it learns (docs/experiments.md, The
# RetinaNet demo: Why lr 1e-3). Twice the iterations of schedule_demo.py
# (why: docs/experiments.md, Training speed on CPU).
# Names prefixed ``toy_``; apply with e.g.
# ``train_cfg = _base_.toy_train_cfg``.
_base_ = './schedule.py'

toy_max_iters = 1000

toy_train_cfg = dict(max_iters=toy_max_iters, val_interval=toy_max_iters)
toy_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=min(200, toy_max_iters // 5)),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=toy_max_iters,
         milestones=[toy_max_iters * 5 // 6],
         gamma=0.1),
]
toy_optim_wrapper = dict(optimizer=dict(lr=1e-3))
toy_default_hooks = dict(checkpoint=dict(interval=500))
