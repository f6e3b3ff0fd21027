# Mask R-CNN R-50-FPN 1x, PISA (Cao et al., CVPR 2020) in the RoI box head:
# ISR-P (k 2, bias 0), ISR-N (Score-HLR sampling, k 0.5, bias 0), CARL (k 1,
# bias 0.2), smooth L1 (beta 1), 2000 RPN proposals, as mmdet's
# pisa/mask-rcnn_r50_fpn_pisa_1x_coco.py. The mask branch is unchanged.
_base_ = './mask-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(
        type='imbalance_plugin.PISARoIHead',
        bbox_head=dict(loss_bbox=dict(type='SmoothL1Loss', beta=1.0))),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=2000),
        rcnn=dict(
            sampler=dict(type='imbalance_plugin.ScoreHLRSampler', k=0.5,
                         bias=0.0),
            isr=dict(k=2.0, bias=0.0),
            carl=dict(k=1.0, bias=0.2))),
    test_cfg=dict(rpn=dict(nms_pre=2000, max_per_img=2000)))
