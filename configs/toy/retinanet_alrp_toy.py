# Toy RetinaNet, aLRP Loss.
# The method is the COCO config's; the toy bases change only data, model size
# and schedule (configs/_base_/toy/; the RetinaNet demo schedule). One key of
# the method is a schedule's: aLRP's self-balance weight is updated once per
# epoch (sb_period; COCO: 7330 iterations), here the toy's epoch, 1600
# training images at 4 per batch.
_base_ = [
    '../ranking/retinanet_r50_fpn_alrp-1x_coco.py',
    '../_base_/toy/retinanet.py',
    '../_base_/toy/schedule_demo_retinanet.py',
]

model = _base_.toy_model
model.bbox_head.loss_cls = dict(sb_period=400)
train_dataloader = _base_.toy_train_dataloader
val_dataloader = _base_.toy_val_dataloader
test_dataloader = _base_.toy_test_dataloader
tta_pipeline = _base_.toy_tta_pipeline
val_evaluator = _base_.toy_val_evaluator
test_evaluator = _base_.toy_test_evaluator
train_cfg = _base_.toy_train_cfg
param_scheduler = _base_.toy_param_scheduler
optim_wrapper = _base_.toy_optim_wrapper
default_hooks = _base_.toy_default_hooks
log_processor = _base_.toy_log_processor
auto_scale_lr = _base_.toy_auto_scale_lr
