"""Gradient-density diagnostics: the GHM paper's figure 1 for any anchor-based
single-stage detector (``tools/analyze_gradient_density.py``)."""
from .collect import GradientSample, collect_gradient_sample
from .curve_settings import CurveSettings, curve_settings_of
from .gradient_histogram import (
                                 GradientHistogram,
                                 classification_histogram,
                                 gradient_histogram,
                                 regression_histogram,
)
from .report import write_report

__all__ = [
    'GradientSample', 'collect_gradient_sample', 'CurveSettings',
    'curve_settings_of', 'GradientHistogram', 'classification_histogram',
    'gradient_histogram', 'regression_histogram', 'write_report'
]
