# Faster R-CNN R-50-FPN 1x with PISA's ISR-P and ISR-N, no CARL: the
# "ISR-P + ISR-N" row of the PISA paper's component ablation (Cao et al.,
# CVPR 2020). ISR-N's Score-HLR sampler, plus ISR-P's k 2, bias 0.
_base_ = './faster-rcnn_r50_fpn_isrn-1x_coco.py'

model = dict(train_cfg=dict(rcnn=dict(isr=dict(k=2.0, bias=0.0))))
