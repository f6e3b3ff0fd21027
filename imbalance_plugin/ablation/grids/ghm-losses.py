# The GHM losses against Focal Loss and against each other: classification
# FL vs GHM-C (the GHM paper's Table 4), regression smooth L1 vs Authentic
# Smooth L1 (ASL1) vs GHM-R with GHM-C (its Table 5). The cells train
# RetinaNet R-50-FPN 1x, 1333x800. ASL1 is GHM-R with a single unit region
# and no momentum (every density weight 1):
# configs/retinanet/retinanet_r50_fpn_ghmc-asl1-1x_coco.py.
#
# Published, each delta against the baseline of its own source and table:
# - table4, table5: the paper (14 epochs, not the cells' 12). Table 5's
#   smooth L1 row is Table 4's GHM-C row, the same model (35.8): the
#   ghmc-sl1 row carries it once, as Table 4's, and table5 names it as its
#   baseline, so ASL1 and GHM-R compare with GHM-C + smooth L1, not with FL.
#   Table 4's CE (28.6) is plain cross-entropy with its loss x20, not this
#   repo's alpha-balanced CE, and its OHEM is R-101: no row carries them.
# - readme: the authors' code README, the cells' 12-epoch schedule.
# The numbers and what could be verified: docs/published.md.
title = 'GHM: FL vs GHM-C, smooth L1 vs ASL1 vs GHM-R'
_paper = ('Li et al., Gradient Harmonized Single-stage Detector, AAAI 2019 '
          '(arXiv 1811.05181), ')
_setting = (': RetinaNet R-50-FPN, 800 px, 14 epochs (lr / 10 at epochs 9 '
            'and 12), COCO minival')
_t4_ghmc = dict(AP=35.8, AP50=55.5, AP75=38.1, APs=19.6, APm=39.6,
                APl=46.7)
_published_fl_sl1 = [
    dict(source='table4', AP=35.6, AP50=55.6, AP75=38.2, APs=19.1, APm=39.2,
         APl=46.3),
    dict(source='readme', AP=35.6)]
_published_ghmc_sl1 = [dict(source='table4', **_t4_ghmc),
                       dict(source='readme', AP=35.8)]
_published_ghmc_asl1 = [
    dict(source='table5', AP=35.7, AP50=55.0, AP75=38.1, APs=19.7, APm=39.7,
         APl=45.9)]
_published_ghmc_ghmr = [
    dict(source='table5', AP=36.4, AP50=54.6, AP75=38.7, APs=20.5, APm=40.6,
         APl=47.8),
    dict(source='readme', AP=37.0)]
sources = dict(
    table4=_paper + 'Table 4 (classification losses, smooth L1 regression)'
    + _setting,
    table5=dict(
        cite=_paper + 'Table 5 (regression losses, GHM-C classification)'
        + _setting + '; its baseline, smooth L1, is Table 4\'s GHM-C',
        baseline=_t4_ghmc),
    readme='README of the GHM authors\' code, libuyu/GHM_Detection: '
    'RetinaNet R-50-FPN, 1333x800, 12 epochs (lr / 10 at epochs 8 and 11), '
    'COCO minival')
variants = [
    dict(name='fl-sl1', label='FL + smooth L1', baseline=True,
         published=_published_fl_sl1,
         config='configs/retinanet/retinanet_r50_fpn_focal-sl1-1x_coco.py'),
    dict(name='ghmc-sl1', label='GHM-C + smooth L1',
         published=_published_ghmc_sl1,
         config='configs/retinanet/retinanet_r50_fpn_ghmc-1x_coco.py'),
    dict(name='ghmc-asl1', label='GHM-C + ASL1',
         published=_published_ghmc_asl1,
         config='configs/retinanet/retinanet_r50_fpn_ghmc-asl1-1x_coco.py'),
    dict(name='ghmc-ghmr', label='GHM-C + GHM-R',
         published=_published_ghmc_ghmr,
         config='configs/retinanet/retinanet_r50_fpn_ghm-1x_coco.py'),
]
