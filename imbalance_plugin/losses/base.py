"""The front door every registered loss of the plugin shares.

A loss module is its constructor's settings, checked when the config is
built, and one method :meth:`LossModule.loss` calling its kernel in
``functional/``. :class:`LossModule` owns the rest of mmdet's loss
interface: ``reduction`` and ``loss_weight`` (and ``compiled`` for a loss
with compiled kernels), the per-call ``reduction_override`` (checked, with
``avg_factor`` refused for ``'sum'``), the multiplication by
``loss_weight`` and ``extra_repr``::

    @MODELS.register_module()
    class MyLoss(LossModule):
        settings = ('gamma',)      # repr shows them, then reduction, ...

        def __init__(self, gamma=2.0, reduction='mean', loss_weight=1.0,
                     compiled=True):
            super().__init__(reduction, loss_weight, compiled)
            self.gamma = check_number(gamma, 'gamma', low=0)

        def loss(self, pred, target, weight, avg_factor, reduction):
            return my_loss(pred, target, weight, gamma=self.gamma,
                           reduction=reduction, avg_factor=avg_factor,
                           compiled=self.compiled)

docs/development.md ("Adding a loss") lists the other places a new loss
is named.
"""
from typing import Optional, Sequence, Tuple, Union

from torch import Tensor, nn

from ..functional.reduction import REDUCTIONS, check_reduction
from ..utils.settings import check_bool, check_number


class LossModule(nn.Module):
    """Base of the plugin's losses: ``forward(pred, target, weight=None,
    avg_factor=None, reduction_override=None)`` returns ``loss_weight *
    self.loss(pred, target, weight, avg_factor, reduction)`` (each element of
    a tuple of losses times ``loss_weight``).

    Class attributes a subclass may set:
        reductions: the reductions it has (default 'none', 'mean', 'sum').
        settings: names of its own attributes shown by ``repr``.

    Args:
        reduction: one of ``reductions``.
        loss_weight: multiplier of the loss, >= 0.
        compiled: use the compiled kernels (see
            :mod:`imbalance_plugin.functional.compile`); None for a loss
            without any.
    """

    reductions: Sequence[str] = REDUCTIONS
    settings: Sequence[str] = ()

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 compiled: Optional[bool] = None):
        super().__init__()
        self.reduction = check_reduction(reduction, allowed=self.reductions)
        self.loss_weight = check_number(loss_weight, 'loss_weight', low=0)
        self.compiled = (None if compiled is None else
                         check_bool(compiled, 'compiled'))

    def loss(self, pred: Tensor, target, weight: Optional[Tensor],
             avg_factor: Optional[Union[float, Tensor]], reduction: str,
             **inputs) -> Union[Tensor, Tuple[Tensor, ...]]:
        """The loss of one call, before ``loss_weight``; ``reduction`` is
        already resolved and checked, ``inputs`` are a subclass's own."""
        raise NotImplementedError

    def forward(self,
                pred: Tensor,
                target,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None,
                **inputs) -> Union[Tensor, Tuple[Tensor, ...]]:
        if reduction_override is None:
            reduction = self.reduction
        else:
            reduction = check_reduction(reduction_override,
                                        'reduction_override', self.reductions)
        check_reduction(reduction, allowed=self.reductions,
                        avg_factor=avg_factor)
        loss = self.loss(pred, target, weight, avg_factor, reduction,
                         **inputs)
        if isinstance(loss, tuple):
            return tuple(self.loss_weight * part for part in loss)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        names = list(self.settings) + ['reduction', 'loss_weight']
        if self.compiled is not None:
            names.append('compiled')
        return ', '.join(f'{name}={getattr(self, name)!r}' for name in names)
