# RS-Mask R-CNN: Mask R-CNN R-50-FPN 1x trained by Rank & Sort Loss (Oksuz
# et al., ICCV 2021) in the RPN and in the RoI head, no sampling, the mask
# loss weighted and balanced as the box loss, as the authors configure it
# (RankSortLoss repository,
# configs/ranksort_loss/ranksort_mask_rcnn_r50_fpn_1x_coco.py, line numbers
# of that file):
# - RPN (l. 4-11): RS-R-CNN's, imbalance_plugin.RankSortRPNHead (their
#   RankBasedRPNHead): RS Loss (delta 0.5) over every assigned anchor of the
#   batch, box deltas with stds (0.1, 0.1, 0.2, 0.2), GIoU unreduced,
#   weighted by the objectness scores and balanced by lambda = L_RS / L_box,
#   the whole RPN loss times head_weight 0.2; PseudoSampler (l. 27);
# - RoI head (l. 12-13): imbalance_plugin.RankSortRoIHead (their
#   RankBasedStandardRoIHead), which hands the mask head the box loss's
#   per-positive weights and the RS Loss value; it trains the mask head on
#   at most 200 positives of the batch, drawn at random (their RoI head's
#   resample_for_mask_head, max_mask=200);
# - box head (l. 14-22): RS-R-CNN's imbalance_plugin.RankSortBBoxHead (their
#   RankBasedShared2FCBBoxHead): sigmoid classifier trained by RS Loss over
#   all RoIs of the batch, score-weighted and balanced GIoU on decoded boxes
#   (reg_decoded_bbox=True);
# - mask head (l. 23): imbalance_plugin.RankSortMaskHead (their
#   RankBasedFCNMaskHead): per positive 1 - Dice(sigmoid(mask logit of its
#   class), target), averaged with the box loss's weights (the positives'
#   classification scores) and multiplied by lambda = L_RS / L_mask (values,
#   no gradient). Their config keeps the base's cross-entropy loss_mask,
#   which their head never calls; here loss_mask is None;
# - RoI sampler (l. 30): num 1e10, every proposal and the ground-truth boxes
#   it adds;
# - test (l. 35): score threshold 0.40 (mmdet's 0.05);
# - lr (l. 41): 0.012 for 16 images (their 4 GPUs x 4, l. 37-39; here
#   mmdet's 8 x 2), mmdet's Mask R-CNN 0.02.
# The losses' loss_weight cancel in lambda and stay 1.0. Everything else is
# mmdet 3.3's Mask R-CNN R-50-FPN 1x. Published, COCO minival, 12 epochs:
# RankSortLoss README (RS-Mask R-CNN, ResNet-50): 40.0 box AP, 36.4 mask AP;
# mmdet's Mask R-CNN R-50-FPN 1x (mmdet 3.3 configs/mask_rcnn/metafile.yml,
# mask-rcnn_r50_fpn_1x_coco): 38.2 box AP, 34.7 mask AP.
_base_ = '../mask_rcnn/mask-rcnn_r50_fpn_ce-1x_coco.py'

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
        type='imbalance_plugin.RankSortRoIHead',
        max_mask_rois=200,
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
                loss_weight=1.0)),
        mask_head=dict(type='imbalance_plugin.RankSortMaskHead',
                       loss_mask=None)),
    train_cfg=dict(
        rpn=dict(sampler=dict(_delete_=True, type='PseudoSampler')),
        rcnn=dict(sampler=dict(num=10**10))),
    test_cfg=dict(rcnn=dict(score_thr=0.40)))
optim_wrapper = dict(optimizer=dict(lr=0.012))
