# Toy RS-ATSS (ATSS with Rank & Sort Loss).
# The method is the COCO config's; the toy bases change only data, model size
# and schedule (configs/_base_/toy/; the RetinaNet demo schedule). The
# one-stage toy head (retinanet.py: 64 channels, 2 convs per tower, anchors
# from a base of 2 instead of 4) fits ATSS as it is: 64 channels divide into
# the GroupNorm(32) of ATSS's towers.
_base_ = [
    '../ranking/atss_r50_fpn_rank-sort-1x_coco.py',
    '../_base_/toy/retinanet.py',
    '../_base_/toy/schedule_demo_retinanet.py',
]

model = _base_.toy_model
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
