# RetinaNet R-50-FPN 1x, GHM-C + Authentic Smooth L1 (the GHM paper's ASL1,
# mu 0.02): GHM-R with a single unit region and no momentum, whose density
# weight is then 1 for every element (imbalance_plugin.GHMR accepts bins=1
# and momentum=0). The middle row of smooth L1 vs ASL1 vs GHM-R.
_base_ = './retinanet_r50_fpn_ghm-1x_coco.py'

model = dict(bbox_head=dict(loss_bbox=dict(bins=1, momentum=0.0)))
