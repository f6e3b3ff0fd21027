# SSD512 (Liu et al., ECCV 2016) on COCO, VGG-16: mmdet's stock detector,
# the baseline of the PISA SSD512 row (ssd512_pisa_coco.py). Its head is the
# plugin's SSDHead, mmdet's own with the one attribute mmdet 3.3.0's test
# step needs (imbalance_plugin/heads/ssd_head.py); training is unchanged.
_base_ = 'mmdet::ssd/ssd512_coco.py'

model = dict(bbox_head=dict(type='imbalance_plugin.SSDHead'))
