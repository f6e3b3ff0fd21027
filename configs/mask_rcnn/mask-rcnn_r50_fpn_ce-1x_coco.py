# Mask R-CNN R-50-FPN 1x, softmax cross-entropy + L1 in the RoI box head:
# mmdet's stock detector unchanged, the baseline of the PISA Mask R-CNN row.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
