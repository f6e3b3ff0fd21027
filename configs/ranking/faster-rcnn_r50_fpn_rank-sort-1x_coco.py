# RS-R-CNN: Faster R-CNN R-50-FPN 1x trained by Rank & Sort Loss (Oksuz et
# al., ICCV 2021) in the RPN and in the RoI head, no sampling, as the authors
# configure it (RankSortLoss repository,
# configs/ranksort_loss/ranksort_faster_rcnn_r50_fpn_1x_coco.py, line numbers
# of that file):
# - RPN (l. 4-11): imbalance_plugin.RankSortRPNHead (their RankBasedRPNHead):
#   RS Loss (delta 0.5) over every assigned anchor of the batch, the IoU of
#   each positive's decoded box as its sorting target; box deltas with stds
#   (0.1, 0.1, 0.2, 0.2); GIoU unreduced, weighted by the objectness scores
#   and balanced by lambda = L_RS / L_box; the whole RPN loss times
#   head_weight 0.2. reg_decoded_bbox makes the anchor targets the objects'
#   boxes (their head decodes the target deltas instead: the same GIoU);
# - RPN sampler (l. 26): PseudoSampler, every anchor;
# - RoI head (l. 12-22): mmdet's StandardRoIHead (theirs differs only for a
#   mask head) with imbalance_plugin.RankSortBBoxHead (their
#   RankBasedShared2FCBBoxHead): a sigmoid classifier trained by RS Loss over
#   all RoIs of the batch, sorted by the IoU of each positive's decoded box,
#   the same balanced GIoU on decoded boxes (reg_decoded_bbox=True);
# - RoI sampler (l. 29): num 1e10, i.e. every proposal and the ground-truth
#   boxes it adds (no sampling);
# - test (l. 34): score threshold 0.40 (mmdet's 0.05);
# - lr (l. 40): 0.012 for 16 images (their 4 GPUs x 4, l. 36-38; here
#   mmdet's 8 x 2), mmdet's Faster R-CNN 0.02.
# The losses' loss_weight cancel in lambda and stay 1.0. Everything else is
# mmdet 3.3's Faster R-CNN R-50-FPN 1x. RankSortLoss README: 39.6 box AP
# (COCO minival); mmdet's Faster R-CNN R-50 1x: 37.4.
_base_ = '../faster_rcnn/faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    rpn_head=dict(
        type='imbalance_plugin.RankSortRPNHead',
        head_weight=0.2,
        reg_decoded_bbox=True,
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(
            _delete_=True,
            type='imbalance_plugin.RankSortLoss',
            delta=0.5,
            loss_weight=1.0),
        loss_bbox=dict(
            _delete_=True, type='GIoULoss', reduction='none',
            loss_weight=1.0)),
    roi_head=dict(
        bbox_head=dict(
            type='imbalance_plugin.RankSortBBoxHead',
            reg_decoded_bbox=True,
            loss_cls=dict(
                _delete_=True,
                type='imbalance_plugin.RankSortLoss',
                delta=0.5,
                loss_weight=1.0),
            loss_bbox=dict(
                _delete_=True, type='GIoULoss', reduction='none',
                loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(sampler=dict(_delete_=True, type='PseudoSampler')),
        rcnn=dict(sampler=dict(num=10**10))),
    test_cfg=dict(rcnn=dict(score_thr=0.40)))
optim_wrapper = dict(optimizer=dict(lr=0.012))
