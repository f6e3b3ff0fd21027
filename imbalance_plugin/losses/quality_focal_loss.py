"""Registered Quality Focal Loss module (Generalized Focal Loss)."""
from ..functional.quality_focal import quality_focal_loss
from ..registry import MODELS
from ..utils.settings import check_bool, check_number
from .base import LossModule


@MODELS.register_module()
class QualityFocalLoss(LossModule):
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

    settings = ('beta', 'activated')

    def __init__(self,
                 use_sigmoid: bool = True,
                 beta: float = 2.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 activated: bool = False,
                 compiled: bool = True):
        super().__init__(reduction, loss_weight, compiled)
        if use_sigmoid is not True:
            raise ValueError('use_sigmoid must be True (QFL is defined on '
                             f'sigmoid scores), got {use_sigmoid!r}')
        self.use_sigmoid = True
        self.beta = check_number(beta, 'beta', low=0)
        self.activated = check_bool(activated, 'activated')

    def loss(self, pred, target, weight, avg_factor, reduction):
        return quality_focal_loss(pred, target, weight, beta=self.beta,
                                  activated=self.activated,
                                  reduction=reduction, avg_factor=avg_factor,
                                  compiled=self.compiled)
