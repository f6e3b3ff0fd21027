"""Registered GHM-C and GHM-R modules: the loss functions of
:mod:`imbalance_plugin.functional.ghm` with their moving averages held in
buffers (saved in checkpoints, restored on resume)."""
import torch

from ..functional.ghm import ghmc_loss, ghmr_loss
from ..registry import MODELS
from ..utils.settings import check_bool, check_int, check_number
from .base import LossModule


class _GradientHarmonized(LossModule):
    """Buffers and arguments shared by GHM-C and GHM-R: the subclass's
    ``_loss`` returns the loss and the new moving average, which ``loss``
    stores. ``avg_factor`` is not used: GHM normalises by the number of
    valid elements, as the paper and mmdet do."""

    settings = ('bins', 'momentum', 'all_reduce')

    def __init__(self, bins, momentum, loss_weight, reduction, all_reduce,
                 compiled):
        super().__init__(reduction, loss_weight, compiled)
        self.bins = check_int(bins, 'bins')
        self.momentum = check_number(momentum, 'momentum', low=0, high=1,
                                     high_open=True)
        self.all_reduce = check_bool(all_reduce, 'all_reduce')
        self.register_buffer('acc_sum',
                             torch.zeros(self.bins, dtype=torch.float32))

    def _loss(self, pred, target, weight, reduction):
        raise NotImplementedError

    def loss(self, pred, target, weight, avg_factor, reduction):
        loss, new_acc_sum = self._loss(pred, target, weight, reduction)
        with torch.no_grad():
            self.acc_sum.copy_(new_acc_sum)
        return loss


@MODELS.register_module()
class GHMC(_GradientHarmonized):
    r"""GHM-C loss, ``type='imbalance_plugin.GHMC'``.

    Cross-entropy reweighted by the inverse gradient density:
    :math:`L = \frac1N \sum_i \beta_i w_i \mathrm{CE}_i`,
    :math:`\beta_i = N / (n\,S_{k(i)})`, see
    :mod:`imbalance_plugin.functional.ghm` and
    :mod:`imbalance_plugin.functional.gradient_density`.

    Args:
        bins: number of unit regions of the gradient norm, >= 1 (paper: 30).
        momentum: moving-average momentum in [0, 1) (paper: 0.75).
        use_sigmoid: sigmoid per class (True) or softmax over the classes and
            background (False; :math:`g = 1 - p_y`).
        loss_weight: multiplier of the loss, >= 0.
        reduction: 'mean' (divide by the number of valid elements N), 'sum'
            or 'none'.
        all_reduce: when distributed, count over the global batch so every
            process holds the same moving average (see ghm's normalisation).
        compiled: use the compiled kernels.

    ``forward(pred, target, weight=None, avg_factor=None,
    reduction_override=None)``: pred (N, C) logits (softmax (N, C + 1));
    target class indices (N,) (background C) or one-hot of pred's shape;
    weight the label weights, which multiply the loss (elements with weight
    0 are ignored). ``avg_factor`` is accepted for the mmdet interface and
    not used: GHM normalises by N, as the paper and mmdet do.
    """

    settings = _GradientHarmonized.settings + ('use_sigmoid',)

    def __init__(self,
                 bins: int = 30,
                 momentum: float = 0.75,
                 use_sigmoid: bool = True,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 all_reduce: bool = True,
                 compiled: bool = True):
        super().__init__(bins, momentum, loss_weight, reduction, all_reduce,
                         compiled)
        self.use_sigmoid = check_bool(use_sigmoid, 'use_sigmoid')

    def _loss(self, pred, target, weight, reduction):
        return ghmc_loss(
            pred, target, weight, self.acc_sum, self.momentum,
            use_sigmoid=self.use_sigmoid, reduction=reduction,
            all_reduce=self.all_reduce, compiled=self.compiled)


@MODELS.register_module()
class GHMR(_GradientHarmonized):
    r"""GHM-R loss, ``type='imbalance_plugin.GHMR'``.

    Authentic Smooth L1 :math:`\sqrt{d^2 + \mu^2} - \mu` reweighted by the
    inverse density of its gradient norm :math:`|d| / \sqrt{d^2 + \mu^2}`.

    Args:
        mu: Authentic Smooth L1 parameter, > 0 (paper: 0.02).
        bins: number of unit regions, >= 1 (paper: 10).
        momentum: moving-average momentum in [0, 1) (paper: 0.7).
        loss_weight: multiplier of the loss, >= 0 (mmdet's GHM RetinaNet
            config: 10).
        reduction, all_reduce, compiled: as in :class:`GHMC`.

    ``forward(pred, target, weight=None, avg_factor=None,
    reduction_override=None)``: pred and target of the same shape, e.g.
    (N, 4); weight of that shape (or (N,)), multiplying the loss (elements
    with weight 0 are ignored); ``avg_factor`` is not used (normaliser N).
    """

    settings = ('mu',) + _GradientHarmonized.settings

    def __init__(self,
                 mu: float = 0.02,
                 bins: int = 10,
                 momentum: float = 0.7,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 all_reduce: bool = True,
                 compiled: bool = True):
        super().__init__(bins, momentum, loss_weight, reduction, all_reduce,
                         compiled)
        self.mu = check_number(mu, 'mu', low=0, low_open=True)

    def _loss(self, pred, target, weight, reduction):
        return ghmr_loss(
            pred, target, weight, self.acc_sum, self.momentum,
            mu=self.mu, reduction=reduction, all_reduce=self.all_reduce,
            compiled=self.compiled)
