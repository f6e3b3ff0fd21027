# Toy backbone and FPN shared by the toy RetinaNet and Faster R-CNN:
# ResNet-18 at a quarter of its width, FPN at 64 channels.
# The backbone starts from digit-classification weights, the toy's analogue
# of the COCO configs' ImageNet weights: imbalance_plugin.ToyPretrained
# trains them once per machine and caches them beside the toy dataset
# (imbalance_plugin/datasets/toy_backbone.py).
# Names prefixed ``toy_``; the toy model bases apply them.
toy_backbone = dict(
    _delete_=True,
    type='ResNet',
    depth=18,
    base_channels=16,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=-1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    style='pytorch',
    init_cfg=dict(type='imbalance_plugin.ToyPretrained'))
toy_neck = dict(in_channels=[16, 32, 64, 128], out_channels=64)
