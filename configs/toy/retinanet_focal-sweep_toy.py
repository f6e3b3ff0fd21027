# Toy RetinaNet, Focal Loss, for the toy sweeps of the Focal Loss paper's
# ablations (focal-alpha-toy, focal-gamma-toy, focal-anchors-toy). The
# method is the 600-pixel COCO config's; the toy bases change data, model
# size and schedule: the short schedule_demo.py (500 iterations at the toy
# baseline's AdamW lr 2e-3), so that a grid of seven cells and two seeds
# stays short on two CPU cores (docs/experiments.md, Training speed on CPU).
_base_ = [
    '../retinanet/retinanet_r50_fpn_focal-600-1x_coco.py',
    '../_base_/toy/retinanet.py',
    '../_base_/toy/schedule_demo.py',
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
