"""Registered losses of the plugin; importing this package registers them."""
from .focal_loss import FocalLoss
from .ghm_loss import GHMC, GHMR

__all__ = ['FocalLoss', 'GHMC', 'GHMR']
