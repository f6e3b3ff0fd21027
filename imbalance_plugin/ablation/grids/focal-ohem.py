# The Focal Loss paper's Table 1d: OHEM in RetinaNet against Focal Loss,
# R-101-FPN at 600 pixels. OHEM scores every anchor by its loss, removes
# near-duplicates by NMS and trains the top `batch` anchors per image with
# cross-entropy; "OHEM 1:3" keeps one positive to three negatives.
title = 'Focal Loss paper, Table 1d: OHEM vs Focal Loss (R-101-FPN)'
sources = dict(
    paper='Lin et al., Focal Loss for Dense Object Detection, ICCV 2017 '
    '(arXiv 1708.02002), Table 1d: RetinaNet R-101-FPN, 600 px, '
    'COCO minival')
_ohem = 'model.train_cfg.ohem'
_batch = dict(name='batch', key=_ohem + '.num', values=[128, 256, 512])
_ohem_axes = [dict(name='nms', key=_ohem + '.nms_thr', values=[0.7, 0.5]),
              _batch]
_ratio_axes = [dict(name='nms', key=_ohem + '.nms_thr', values=[0.5]),
               _batch]
_published_ohem = [
    dict(nms=0.7, batch=128, AP=31.1, AP50=47.2, AP75=33.2),
    dict(nms=0.7, batch=256, AP=31.8, AP50=48.8, AP75=33.9),
    dict(nms=0.7, batch=512, AP=30.6, AP50=47.0, AP75=32.6),
    dict(nms=0.5, batch=128, AP=32.8, AP50=50.3, AP75=35.1),
    dict(nms=0.5, batch=256, AP=31.0, AP50=47.4, AP75=33.0),
    dict(nms=0.5, batch=512, AP=27.6, AP50=42.0, AP75=29.2),
]
_published_ratio = [
    dict(nms=0.5, batch=128, AP=31.1, AP50=47.2, AP75=33.2),
    dict(nms=0.5, batch=256, AP=28.3, AP50=42.4, AP75=30.3),
    dict(nms=0.5, batch=512, AP=24.0, AP50=35.5, AP75=25.8),
]
_published_fl = dict(AP=36.0, AP50=54.9, AP75=38.7)
variants = [
    dict(name='ohem', label='OHEM', axes=_ohem_axes,
         config='configs/retinanet/retinanet_r101_fpn_ohem-1x_coco.py',
         cfg_options={_ohem + '.neg_pos_ratio': None},
         published=_published_ohem),
    dict(name='ohem-1-3', label='OHEM 1:3', axes=_ratio_axes,
         config='configs/retinanet/retinanet_r101_fpn_ohem-1x_coco.py',
         cfg_options={_ohem + '.neg_pos_ratio': 3},
         published=_published_ratio),
    dict(name='fl', label='FL', baseline=True, published=_published_fl,
         config='configs/retinanet/retinanet_r101_fpn_focal-600-1x_coco.py'),
]
