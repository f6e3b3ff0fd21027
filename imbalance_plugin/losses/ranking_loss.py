"""Registered ranking-based losses: Rank & Sort Loss, AP Loss and aLRP Loss.

The math lives in :mod:`imbalance_plugin.functional.rank_sort`,
:mod:`~imbalance_plugin.functional.ap_loss` and
:mod:`~imbalance_plugin.functional.alrp`; the modules hold the arguments,
checked when the config is built, and aLRP's self-balance state (buffers,
saved in checkpoints). Each ranks the logits of the whole call (all images
of the batch), normalises by the number of positives and ignores
``avg_factor``.
"""
from typing import Optional

import torch
from torch import Tensor

from ..functional.alrp import alrp_components
from ..functional.ap_loss import ap_loss
from ..functional.gradient_density import global_counts
from ..functional.rank_sort import rank_sort_loss
from ..functional.ranking import RANKING_REDUCTIONS, check_ranking_settings
from ..registry import MODELS
from ..utils.settings import check_bool, check_int, check_number
from .base import LossModule


class _RankingLoss(LossModule):
    """Arguments shared by the three losses; ``use_sigmoid`` must be True
    (a ranking loss ranks one logit per class, no background output)."""

    reductions = RANKING_REDUCTIONS
    settings = ('delta', 'chunk_size')

    def __init__(self, delta, loss_weight, reduction, chunk_size,
                 use_sigmoid):
        super().__init__(reduction, loss_weight)
        if use_sigmoid is not True:
            raise ValueError('use_sigmoid must be True (a ranking loss ranks '
                             'one logit per class, no background output), '
                             f'got {use_sigmoid!r}')
        self.use_sigmoid = True
        self.delta, _, self.chunk_size = check_ranking_settings(
            delta, reduction, chunk_size)


@MODELS.register_module()
class RankSortLoss(_RankingLoss):
    r"""Rank & Sort Loss, ``type='imbalance_plugin.RankSortLoss'``.

    Ranks the positives above the negatives and sorts the positives by
    their continuous targets (IoUs):
    :math:`L_{RS} = \frac{1}{|\mathcal{P}|} \sum_i (\ell_R(i) + \ell_S(i) -
    \ell^*_S(i))`, trained by the error-driven update (see
    :mod:`imbalance_plugin.functional.rank_sort`).

    Args:
        delta: :math:`\delta` of the smoothed step, in (0, 1] (paper: 0.5).
        loss_weight: multiplier of the loss, >= 0.
        reduction: 'mean' over the positives (the paper's) or 'sum'.
        chunk_size: positives per chunk of the positive-positive terms, an
            integer >= 1, or None (from a 2**22-element budget).
        use_sigmoid: must be True; heads read it to give the classifier one
            output per class.

    ``forward(pred, target, weight=None, avg_factor=None,
    reduction_override=None)``: pred (N, C) logits of all anchors of the
    batch (or flattened (M,)); target ``(labels, scores)``, class indices
    (N,) with background C and the sorting target (IoU) of each anchor, or
    a tensor of pred's shape, > 0 at the positives; weight per anchor or
    per logit, only ``> 0`` counts (a ranking has no per-element weight).
    ``avg_factor`` is accepted and not used: the loss averages over the
    positives.

    The paper's task balancing, :math:`L_{RS} + \lambda L_{box}` with
    :math:`\lambda = L_{RS} / L_{box}` (values, no gradient), is the head's
    (:class:`imbalance_plugin.heads.RankSortATSSHead`).
    """

    def __init__(self,
                 delta: float = 0.5,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 chunk_size: Optional[int] = None,
                 use_sigmoid: bool = True):
        super().__init__(delta, loss_weight, reduction, chunk_size,
                         use_sigmoid)

    def loss(self, pred, target, weight, avg_factor, reduction):
        return rank_sort_loss(pred, target, weight, delta=self.delta,
                              reduction=reduction, chunk_size=self.chunk_size)


@MODELS.register_module()
class APLoss(_RankingLoss):
    r"""AP Loss, ``type='imbalance_plugin.APLoss'``.

    One minus the interpolated average precision of the positives of the
    minibatch, :math:`L_{AP} = \frac{1}{|\mathcal{P}|} \sum_i (1 -
    \widetilde{\mathrm{prec}}(i))`, trained by the error-driven update (see
    :mod:`imbalance_plugin.functional.ap_loss`).

    Args:
        delta: :math:`\delta` of the smoothed step, in (0, 1] (paper: 1).
        loss_weight, reduction, chunk_size, use_sigmoid: as in
            :class:`RankSortLoss`.

    ``forward(pred, target, weight=None, avg_factor=None,
    reduction_override=None)``: pred (N, C) logits (or (M,)); target class
    indices (N,) with background C, or one-hot of pred's shape; weight per
    anchor or per logit (only ``> 0`` counts); ``avg_factor`` is not used.
    """

    def __init__(self,
                 delta: float = 1.0,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 chunk_size: Optional[int] = None,
                 use_sigmoid: bool = True):
        super().__init__(delta, loss_weight, reduction, chunk_size,
                         use_sigmoid)

    def loss(self, pred, target, weight, avg_factor, reduction):
        return ap_loss(pred, target, weight, delta=self.delta,
                       reduction=reduction, chunk_size=self.chunk_size)


@MODELS.register_module()
class aLRPLoss(_RankingLoss):  # noqa: N801  (the paper's name)
    r"""aLRP Loss, ``type='imbalance_plugin.aLRPLoss'``.

    :math:`L_{aLRP} = \frac{1}{|\mathcal{P}|} \sum_i (N_{FP}(i) +
    \mathcal{E}_{loc}(i)) / \mathrm{rank}(i) = L_{cls} + L_{loc}`, the
    classification component trained by the error-driven update, the
    localisation component by backpropagation through the positives'
    localisation errors (see :mod:`imbalance_plugin.functional.alrp`).

    **Self-balance.** The returned localisation component is
    :math:`w_{SB} L_{loc}`, :math:`w_{SB} = (\bar L_{cls} + \bar L_{loc}) /
    \bar L_{loc}` over the previous ``sb_period`` training calls that had
    positives (the paper: an epoch), ``sb_init`` before the first period
    ends. The sums, the count and :math:`w_{SB}` are buffers: checkpoints
    save them, ``--resume`` restores them. With ``all_reduce`` the per-call
    values are averaged over the processes, so every process holds the same
    :math:`w_{SB}`.

    Args:
        delta: :math:`\delta` of the smoothed step, in (0, 1] (paper: 1).
        loss_weight: multiplier of both components, >= 0.
        reduction: 'mean' over the positives (the paper's) or 'sum'.
        chunk_size: as in :class:`RankSortLoss`.
        self_balance: update :math:`w_{SB}` (False: it stays ``sb_init``).
        sb_init: the first :math:`w_{SB}`, > 0 (paper: 50).
        sb_period: training calls per update of :math:`w_{SB}`, >= 1: the
            iterations of an epoch (7330 for COCO train2017 at 16 images
            per batch).
        all_reduce: average the statistics over the processes when
            distributed.
        use_sigmoid: must be True.

    ``forward(pred, target, loc_error, weight=None, avg_factor=None,
    reduction_override=None)`` returns ``(loss_cls, loss_loc)``: pred (N, C)
    logits (or (M,)); target class indices (N,) with background C, or
    one-hot of pred's shape; loc_error (N,) the localisation error of each
    anchor's box, e.g. :math:`1 - \mathrm{GIoU}` (read at the positive
    anchors only); weight per anchor or per logit (only ``> 0`` counts).
    """

    settings = _RankingLoss.settings + ('self_balance', 'sb_period',
                                        'all_reduce')

    def __init__(self,
                 delta: float = 1.0,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 chunk_size: Optional[int] = None,
                 self_balance: bool = True,
                 sb_init: float = 50.0,
                 sb_period: int = 7330,
                 all_reduce: bool = True,
                 use_sigmoid: bool = True):
        super().__init__(delta, loss_weight, reduction, chunk_size,
                         use_sigmoid)
        self.self_balance = check_bool(self_balance, 'self_balance')
        self.sb_period = check_int(sb_period, 'sb_period')
        self.all_reduce = check_bool(all_reduce, 'all_reduce')
        sb_init = check_number(sb_init, 'sb_init', low=0, low_open=True)
        self.register_buffer('sb_weight',
                             torch.tensor(sb_init, dtype=torch.float32))
        # sums of the classification and localisation components, and the
        # number of calls they cover
        self.register_buffer('sb_sums', torch.zeros(2, dtype=torch.float32))
        self.register_buffer('sb_count', torch.zeros((), dtype=torch.float32))

    @torch.no_grad()
    def _balance(self, loss_cls: Tensor, loss_loc: Tensor, counted: bool):
        """Adds this call's components (``counted``: it had positives) to
        the statistics; every process calls it at every training call, so
        that the all-reduce always pairs up."""
        values = torch.stack((loss_cls.float(), loss_loc.float(),
                              loss_cls.new_ones((), dtype=torch.float32)))
        values = values * float(counted)
        values, _ = global_counts(values, self.all_reduce)
        # the mean over the processes that had positives
        sums = self.sb_sums + values[:2] / values[2].clamp_min(1)
        count = self.sb_count + (values[2] > 0).float()
        done = count >= self.sb_period
        balanced = (sums[0] + sums[1]) / sums[1].clamp_min(1e-12)
        self.sb_weight.copy_(torch.where(done & (sums[1] > 0), balanced,
                                         self.sb_weight))
        self.sb_sums.copy_(torch.where(done, 0, sums))
        self.sb_count.copy_(torch.where(done, 0, count))

    def forward(self,
                pred: Tensor,
                target: Tensor,
                loc_error: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor=None,
                reduction_override: Optional[str] = None):
        return super().forward(pred, target, weight, avg_factor,
                               reduction_override, loc_error=loc_error)

    def loss(self, pred, target, weight, avg_factor, reduction, loc_error):
        loss_cls, loss_loc, num_positives = alrp_components(
            pred, target, loc_error, weight, delta=self.delta,
            reduction=reduction, chunk_size=self.chunk_size)
        if self.training and self.self_balance:
            self._balance(loss_cls.detach(), loss_loc.detach(),
                          num_positives > 0)
        return loss_cls, loss_loc * self.sb_weight.to(loss_loc.dtype)
