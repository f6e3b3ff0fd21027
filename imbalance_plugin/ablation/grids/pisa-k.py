# PISA's exponent k swept in Faster R-CNN R-50-FPN 1x PISA (ISR-P + ISR-N +
# CARL, COCO): ISR-P's k (train_cfg.rcnn.isr.k; the paper's and mmdet's
# default 2) and CARL's k (train_cfg.rcnn.carl.k; default 1), one part at a
# time, each weight being (bias + (1 - bias) * u) ** k. The baseline cell,
# ISR-P k 2, is the config as it is, so it is also CARL's k 1 cell, which
# the CARL sweep therefore leaves out. The PISA paper's own table of k could
# not be read from any text reachable here: its cells may differ from these
# values and no published numbers are carried (docs/published.md).
title = 'PISA: ISR-P and CARL exponent k in Faster R-CNN R-50-FPN 1x'
_config = 'configs/faster_rcnn/faster-rcnn_r50_fpn_pisa-1x_coco.py'
_isr_k = dict(name='k', key='model.train_cfg.rcnn.isr.k',
              values=[0.5, 1.0, 2.0, 3.0])
_carl_k = dict(name='k', key='model.train_cfg.rcnn.carl.k',
               values=[0.5, 2.0, 3.0])
variants = [
    dict(name='isr', label='ISR-P', config=_config, axes=[_isr_k],
         baseline=dict(k=2.0)),
    dict(name='carl', label='CARL', config=_config, axes=[_carl_k]),
]
