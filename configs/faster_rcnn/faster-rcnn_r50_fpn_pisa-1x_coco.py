# Faster R-CNN R-50-FPN 1x, PISA (Cao et al., CVPR 2020): ISR-P + ISR-N + CARL
# with the paper's settings: ISR-P k 2 bias 0, Score-HLR k 0.5 bias 0,
# CARL k 1 bias 0.2, smooth L1 (beta 1), 2000 RPN proposals.
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(
        type='imbalance_plugin.PISARoIHead',
        bbox_head=dict(
            loss_bbox=dict(
                _delete_=True, type='SmoothL1Loss', beta=1.0,
                loss_weight=1.0))),
    train_cfg=dict(
        rpn_proposal=dict(
            nms_pre=2000,
            max_per_img=2000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            sampler=dict(
                type='imbalance_plugin.ScoreHLRSampler',
                num=512,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True,
                k=0.5,
                bias=0.0,
                score_thr=0.05,
                iou_thr=0.5),
            isr=dict(k=2.0, bias=0.0),
            carl=dict(k=1.0, bias=0.2))),
    test_cfg=dict(
        rpn=dict(
            nms_pre=2000,
            max_per_img=2000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0)))
