# Faster R-CNN R-50-FPN 1x, softmax cross-entropy + L1 in the RoI head: the
# baseline of every Faster R-CNN ablation, mmdet's stock detector unchanged.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
