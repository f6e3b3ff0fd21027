# SSD300, PISA (Cao et al., CVPR 2020): ISR-P (k 2, bias 0) and CARL (k 1,
# bias 0.2) over SSD's hard negative mining, gradients clipped at 35, as
# mmdet's pisa/ssd300_pisa_coco.py.
_base_ = './ssd300_coco.py'

model = dict(
    bbox_head=dict(type='imbalance_plugin.PISASSDHead'),
    train_cfg=dict(isr=dict(k=2.0, bias=0.0), carl=dict(k=1.0, bias=0.2)))

optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
