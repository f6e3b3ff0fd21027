# RS-ATSS: ATSS R-50-FPN 1x trained by Rank & Sort Loss (Oksuz et al.,
# ICCV 2021), as the authors configure it (RankSortLoss repository,
# configs/ranksort_loss/ranksort_atss_r50_fpn_1x_coco.py):
# - the head imbalance_plugin.RankSortATSSHead: no centerness branch (the
#   loss_centerness key inherited from mmdet's config is built by ATSSHead
#   but never used), RS Loss over all anchors of the batch with the IoU of
#   each positive's predicted box as its sorting target, delta 0.5;
# - GIoU regression, unreduced: the head weighs each positive by its
#   classification score and multiplies the loss by the tuning-free
#   lambda = L_RS / L_box (so loss_weight has no effect; the authors' 1.0);
# - 3 anchor scales per octave from a base of 4 (mmdet's ATSS: one, of 8);
# - lr 0.008 for 16 images (4 GPUs x 4), mmdet's ATSS 0.01.
# Everything else is mmdet 3.3's ATSS R-50-FPN 1x. RankSortLoss README:
# 39.9 box AP (COCO minival); mmdet's ATSS R-50 1x: 39.4.
_base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'

model = dict(
    bbox_head=dict(
        type='imbalance_plugin.RankSortATSSHead',
        anchor_generator=dict(octave_base_scale=4, scales_per_octave=3),
        loss_cls=dict(
            _delete_=True,
            type='imbalance_plugin.RankSortLoss',
            delta=0.5,
            loss_weight=1.0),
        loss_bbox=dict(
            _delete_=True, type='GIoULoss', reduction='none',
            loss_weight=1.0)))
optim_wrapper = dict(optimizer=dict(lr=0.008))
