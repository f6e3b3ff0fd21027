# Faster R-CNN R-50-FPN 1x with PISA's ISR-N alone: negatives sampled and
# reweighted by Score-HLR (k 0.5, bias 0); no ISR-P, no CARL.
_base_ = './faster-rcnn_r50_fpn_ce-1x_coco.py'

model = dict(
    roi_head=dict(type='imbalance_plugin.PISARoIHead'),
    train_cfg=dict(
        rcnn=dict(
            sampler=dict(
                type='imbalance_plugin.ScoreHLRSampler',
                k=0.5,
                bias=0.0,
                score_thr=0.05,
                iou_thr=0.5))))
