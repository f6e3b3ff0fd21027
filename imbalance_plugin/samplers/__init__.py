"""Registered samplers of the plugin; importing this package registers them."""
from .score_hlr_sampler import ScoreHLRSampler  # noqa: F401
