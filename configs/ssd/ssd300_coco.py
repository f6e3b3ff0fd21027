# SSD300 (Liu et al., ECCV 2016) on COCO, VGG-16: mmdet's stock detector
# unchanged, the baseline of the PISA SSD300 row (ssd300_pisa_coco.py).
_base_ = 'mmdet::ssd/ssd300_coco.py'
