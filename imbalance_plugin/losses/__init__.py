"""Registered losses of the plugin; importing this package registers them."""
from .focal_loss import FocalLoss
from .ghm_loss import GHMC, GHMR
from .quality_focal_loss import QualityFocalLoss
from .ranking_loss import APLoss, RankSortLoss, aLRPLoss

__all__ = ['FocalLoss', 'GHMC', 'GHMR', 'QualityFocalLoss', 'RankSortLoss',
           'APLoss', 'aLRPLoss']
