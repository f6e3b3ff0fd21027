"""Parameters of the losses whose gradient contributions the figures draw,
read from a detector head's own ``loss_cls`` and ``loss_bbox``."""
from dataclasses import dataclass, replace
from numbers import Real
from typing import Optional

from ..utils.settings import check_int, check_number, check_optional


@dataclass(frozen=True)
class CurveSettings:
    """Loss parameters of the contribution curves.

    Attributes:
        gamma, alpha: Focal Loss (alpha None: no class balance).
        ghm_c_bins: GHM-C's number of regions.
        ghm_r_bins, mu: GHM-R's number of regions and ASL1 parameter.
        beta: smooth L1's parameter (0: L1).
    Defaults are the papers': Focal gamma 2, alpha 0.25; GHM-C 30 regions;
    GHM-R 10 regions, mu 0.02; smooth L1 beta 0.11 (RetinaNet's 1/9).

    Raises:
        ValueError: naming the field, for gamma < 0, alpha outside [0, 1],
            bins < 1, mu <= 0 or beta < 0.
    """
    gamma: float = 2.0
    alpha: Optional[float] = 0.25
    ghm_c_bins: int = 30
    ghm_r_bins: int = 10
    mu: float = 0.02
    beta: float = 0.11

    def __post_init__(self):
        check_number(self.gamma, 'gamma', low=0)
        check_optional(check_number, self.alpha, 'alpha', 'no class balance',
                       low=0, high=1)
        check_int(self.ghm_c_bins, 'ghm_c_bins', low=1)
        check_int(self.ghm_r_bins, 'ghm_r_bins', low=1)
        check_number(self.mu, 'mu', low=0, low_open=True)
        check_number(self.beta, 'beta', low=0)


def curve_settings_of(head) -> CurveSettings:
    """:class:`CurveSettings` with the parameters of the losses ``head``
    trains with (mmdet's or the plugin's FocalLoss, GHMC, GHMR,
    SmoothL1Loss, L1Loss); the defaults for the others."""
    settings = CurveSettings()
    loss_cls = getattr(head, 'loss_cls', None)
    loss_bbox = getattr(head, 'loss_bbox', None)
    cls_name = type(loss_cls).__name__
    if cls_name == 'GHMC':
        settings = replace(settings, ghm_c_bins=int(loss_cls.bins))
    elif cls_name == 'FocalLoss':
        alpha = getattr(loss_cls, 'alpha', settings.alpha)
        settings = replace(
            settings,
            gamma=float(loss_cls.gamma),
            # A per-class alpha has no single value to draw with.
            alpha=float(alpha) if isinstance(alpha, Real) else None)
    reg_name = type(loss_bbox).__name__
    if reg_name == 'GHMR':
        settings = replace(settings, ghm_r_bins=int(loss_bbox.bins),
                           mu=float(loss_bbox.mu))
    elif reg_name == 'SmoothL1Loss':
        settings = replace(settings, beta=float(loss_bbox.beta))
    elif reg_name == 'L1Loss':
        settings = replace(settings, beta=0.0)
    return settings
