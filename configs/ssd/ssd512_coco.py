# SSD512 (Liu et al., ECCV 2016) on COCO, VGG-16: mmdet's stock detector
# unchanged, the baseline of the PISA SSD512 row (ssd512_pisa_coco.py).
_base_ = 'mmdet::ssd/ssd512_coco.py'
