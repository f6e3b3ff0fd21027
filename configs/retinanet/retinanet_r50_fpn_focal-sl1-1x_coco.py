# RetinaNet R-50-FPN 1x, Focal Loss + smooth L1 (beta 0.11) with the GHM
# configs' gradient clipping: the "FL + SL1" baseline row of the GHM
# authors' README (libuyu/GHM_Detection), against which GHM-C + smooth L1
# differs only in the classification loss.
_base_ = './retinanet_r50_fpn_focal-1x_coco.py'

model = dict(
    bbox_head=dict(
        loss_bbox=dict(
            _delete_=True, type='SmoothL1Loss', beta=0.11, loss_weight=1.0)))
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
