# PISA's bias swept in Faster R-CNN R-50-FPN 1x PISA (ISR-P + ISR-N + CARL,
# COCO): ISR-P's bias (train_cfg.rcnn.isr.bias; the paper's and mmdet's
# default 0) and CARL's bias (train_cfg.rcnn.carl.bias; default 0.2), one
# part at a time, each weight being (bias + (1 - bias) * u) ** k. The
# baseline cell, ISR-P bias 0, is the config as it is, so it is also CARL's
# bias 0.2 cell, which the CARL sweep therefore leaves out. The PISA
# paper's own table of the bias could not be read from any text reachable
# here: its cells may differ from these values and no published numbers are
# carried (docs/published.md).
title = 'PISA: ISR-P and CARL bias in Faster R-CNN R-50-FPN 1x'
_config = 'configs/faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py'
_isr_bias = dict(name='bias', key='model.train_cfg.rcnn.isr.bias',
                 values=[0.0, 0.1, 0.2, 0.3])
_carl_bias = dict(name='bias', key='model.train_cfg.rcnn.carl.bias',
                  values=[0.0, 0.1, 0.3])
variants = [
    dict(name='isr', label='ISR-P', config=_config, axes=[_isr_bias],
         baseline=dict(bias=0.0)),
    dict(name='carl', label='CARL', config=_config, axes=[_carl_bias]),
]
