"""Registered Quality Focal Loss module (Generalized Focal Loss)."""
from typing import Optional, Union

from torch import Tensor, nn

from ..functional.quality_focal import (
    QualityTarget,
    check_beta,
    quality_focal_loss,
)
from ..functional.reduction import check_reduction
from ..registry import MODELS
from ._validation import check_bool, check_number, resolve_reduction


@MODELS.register_module()
class QualityFocalLoss(nn.Module):
    r"""Quality Focal Loss, ``type='imbalance_plugin.QualityFocalLoss'``.

    :math:`\mathrm{QFL} = |t - \sigma(x)|^\beta \, \mathrm{BCE}(x, t)` per
    class, summed over the classes of a row, for a soft quality target
    :math:`t` (the IoU of the box at its class, 0 elsewhere), as GFL, TOOD
    and RTMDet heads use it. See
    :mod:`imbalance_plugin.functional.quality_focal` for the formulas.

    Args:
        use_sigmoid: must be True (QFL is defined on sigmoid scores); kept
            because heads read it from the config to size their classifier.
        beta: exponent of the modulating factor, >= 0 (paper: 2).
        reduction: 'mean', 'sum' or 'none'.
        loss_weight: multiplier of the loss, >= 0.
        activated: pred holds probabilities (already through a sigmoid), not
            logits.
        compiled: use the compiled kernel (see
            :mod:`imbalance_plugin.functional.compile`).

    ``forward(pred, target, weight=None, avg_factor=None,
    reduction_override=None)``: pred (N, C); target a ``(labels, scores)``
    pair, class indices (N,) with background C and quality targets (N,), or
    soft targets of pred's shape (then pred may be (N, C, ...)); weight per
    row (N,); 'mean' divides the weighted sum by avg_factor when given, else
    by the number of rows. 'none' returns the loss of each row.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 beta: float = 2.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 activated: bool = False,
                 compiled: bool = True):
        super().__init__()
        if use_sigmoid is not True:
            raise ValueError('use_sigmoid must be True (QFL is defined on '
                             f'sigmoid scores), got {use_sigmoid!r}')
        self.use_sigmoid = True
        self.beta = check_beta(beta)
        self.reduction = check_reduction(reduction)
        self.loss_weight = check_number(loss_weight, 'loss_weight', low=0)
        self.activated = check_bool(activated, 'activated')
        self.compiled = check_bool(compiled, 'compiled')

    def extra_repr(self) -> str:
        return (f'beta={self.beta}, activated={self.activated}, '
                f'reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')

    def forward(self,
                pred: Tensor,
                target: QualityTarget,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override)
        loss = quality_focal_loss(pred, target, weight, beta=self.beta,
                                  activated=self.activated,
                                  reduction=reduction, avg_factor=avg_factor,
                                  compiled=self.compiled)
        return self.loss_weight * loss
