# Toy RS-R-CNN (Faster R-CNN with Rank & Sort Loss in the RPN and RoI head).
# The method is the COCO config's; the toy bases change only data, model size
# and schedule (configs/_base_/toy/; the Faster R-CNN demo schedule). The toy
# Faster R-CNN base samples 256 RoIs per image: RS-R-CNN samples none, so its
# RoI sampler keeps the COCO config's num (every proposal).
_base_ = [
    '../ranking/faster-rcnn_r50_fpn_rank-sort-1x_coco.py',
    '../_base_/toy/faster_rcnn.py',
    '../_base_/toy/schedule_demo.py',
]

model = _base_.toy_model
model.train_cfg.rcnn.sampler.num = _base_.model.train_cfg.rcnn.sampler.num
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
