r"""GHM-C and GHM-R losses (Li et al., "Gradient Harmonized Single-stage
Detector", AAAI 2019), built on the shared estimator of
:mod:`.gradient_density`.

Each element's loss is multiplied by its harmonising weight :math:`\beta`
(see :mod:`.gradient_density`) and by its label weight :math:`w`, and the
``'mean'`` reduction divides by the number :math:`N` of valid elements
(label weight > 0), the paper's normaliser:

.. math::
    L = \frac{1}{N} \sum_i \beta_i \, w_i \, \ell_i

GHM-C, sigmoid: :math:`\ell` is binary cross-entropy per logit and
:math:`g = |\sigma(x) - t|`. GHM-C, softmax (not in the paper; mmdet has
none): :math:`\ell` is softmax cross-entropy per row and
:math:`g = \tfrac12 \lVert \mathrm{softmax}(z) - t \rVert_1`, half the L1 norm
of the cross-entropy gradient with respect to the logits, which for a class
index :math:`y` is :math:`1 - p_y` (also the gradient's max norm); like the
sigmoid :math:`g` it lies in [0, 1] and is 0 for a perfect prediction.
GHM-R: :math:`\ell = \sqrt{d^2 + \mu^2} - \mu` (Authentic Smooth L1) of
:math:`d = x - t` and :math:`g = |d| / \sqrt{d^2 + \mu^2}`.

Label weights are weights: unlike mmdet's GHMC / GHMR, which keep only
``weight > 0``, the value multiplies the loss (the density still counts the
elements with weight > 0). For 0/1 weights both agree.

Distributed normalisation: with ``all_reduce=True`` and :math:`P > 1`
processes, the counts and :math:`N` are those of the global batch, and each
process returns :math:`\frac{P}{N} \sum_{i \in \text{local}} \beta_i w_i
\ell_i`. DistributedDataParallel averages gradients over the :math:`P`
processes, so the averaged gradient (and the mean of the logged losses) is
exactly that of one process computing :math:`L` on the whole batch.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .compile import kernel
from .focal import _opmath
from .gradient_density import (bin_counts, bin_index, global_counts,
                               harmonizing_weights)
from .reduction import (broadcast_weight, check_class_target,
                        check_reduction, check_same_shape)
from .targets import one_hot


def _valid(weight: Optional[Tensor], like: Tensor) -> Tensor:
    if weight is None:
        return torch.ones((), dtype=torch.bool, device=like.device)
    return weight > 0


def _class_target(target: Tensor, x: Tensor) -> Tensor:
    if target.dim() == x.dim():
        return target.to(x.dtype)
    return one_hot(target, x.shape[-1], x.dtype)


def _in_range(target: Tensor, channels: int) -> Tensor:
    if target.is_floating_point() or target.dim() == 2:
        return torch.ones((), dtype=torch.bool, device=target.device)
    return (target >= 0) & (target < channels)


@kernel
def _ghmc_bins(pred, target, weight, edges, use_sigmoid):
    x = _opmath(pred).detach()
    t = _class_target(target, x)
    valid = _valid(weight, x)
    if use_sigmoid:
        g = (torch.sigmoid(x) - t).abs()
    else:
        g = 0.5 * (torch.softmax(x, dim=-1) - t).abs().sum(-1)
        valid = valid & _in_range(target, x.shape[-1])
    index = bin_index(g, valid.expand_as(g), edges)
    return index, bin_counts(index, edges.shape[0] - 1)


@kernel
def _ghmc_weighted(pred, target, weight, index, table, use_sigmoid, summed):
    x = _opmath(pred)
    t = _class_target(target, x)
    if use_sigmoid:
        loss = F.binary_cross_entropy_with_logits(x, t, reduction='none')
    else:
        loss = -(t * torch.log_softmax(x, dim=-1)).sum(-1)
    beta = table[index.long()]
    loss = loss * (beta if weight is None else beta * weight)
    return loss.sum() if summed else loss


@kernel
def _ghmr_bins(pred, target, weight, edges, mu):
    diff = (_opmath(pred) - target).detach()
    g = (diff / torch.sqrt(mu * mu + diff * diff)).abs()
    valid = _valid(weight, diff).expand_as(g)
    index = bin_index(g, valid, edges)
    return index, bin_counts(index, edges.shape[0] - 1)


@kernel
def _ghmr_weighted(pred, target, weight, index, table, mu, summed):
    diff = _opmath(pred) - target
    loss = torch.sqrt(diff * diff + mu * mu) - mu
    beta = table[index.long()]
    loss = loss * (beta if weight is None else beta * weight)
    return loss.sum() if summed else loss


def _reduce(loss: Tensor, reduction: str, total: Tensor,
            processes: int) -> Tensor:
    if reduction == 'mean':
        return loss * (processes / total)
    return loss


def _harmonize(index_counts, acc_sum, momentum, all_reduce):
    index, counts = index_counts
    counts, processes = global_counts(counts, all_reduce)
    table, new_acc_sum, total = harmonizing_weights(counts, acc_sum, momentum)
    return index, table, new_acc_sum, total, processes


def ghmc_loss(pred: Tensor,
              target: Tensor,
              weight: Optional[Tensor],
              acc_sum: Tensor,
              edges: Tensor,
              momentum: float,
              use_sigmoid: bool = True,
              reduction: str = 'mean',
              all_reduce: bool = True,
              compiled: bool = False) -> Tuple[Tensor, Tensor]:
    r"""GHM-C loss and the updated moving average of the region counts.

    Args:
        pred: logits, (N, C) for sigmoid (one per foreground class) or (N, K)
            for softmax (K = C + 1, background last).
        target: class indices (N,) (integer; sigmoid: a label outside [0, C)
            is background, an all-negative row; softmax: a label outside
            [0, K) is ignored) or one-hot / soft targets of pred's shape.
        weight: label weights, (N,) or (N, 1) per row, or (N, C) / (N * C,)
            per element (sigmoid); elements with weight 0 are ignored.
        acc_sum: moving average :math:`S` of the region counts, (bins,).
        edges: region edges, (bins + 1,), see
            :func:`~.gradient_density.bin_edges` (last edge :math:`1+10^{-6}`).
        momentum: :math:`\mu \in [0, 1)` of the moving average.
        use_sigmoid: sigmoid (True) or softmax (False) form.
        reduction: 'mean' (divide by the number of valid elements), 'sum' or
            'none' (the weighted element losses, pred's shape for sigmoid,
            (N,) for softmax).
        all_reduce: sum the counts over processes when distributed.
        compiled: run the compiled kernels (see :mod:`.compile`).
    Returns:
        ``(loss, new_acc_sum)``; ``new_acc_sum`` is to be stored by the caller.
    """
    check_reduction(reduction)
    check_class_target(pred, target)
    loss_shape = pred.shape if use_sigmoid else pred.shape[:1]
    weight = broadcast_weight(weight, loss_shape)
    index, table, new_acc_sum, total, processes = _harmonize(
        _ghmc_bins(pred, target, weight, edges, use_sigmoid,
                   compiled=compiled), acc_sum, momentum, all_reduce)
    loss = _ghmc_weighted(pred, target, weight, index, table, use_sigmoid,
                          reduction != 'none', compiled=compiled)
    return _reduce(loss, reduction, total, processes), new_acc_sum


def ghmr_loss(pred: Tensor,
              target: Tensor,
              weight: Optional[Tensor],
              acc_sum: Tensor,
              edges: Tensor,
              momentum: float,
              mu: float = 0.02,
              reduction: str = 'mean',
              all_reduce: bool = True,
              compiled: bool = False) -> Tuple[Tensor, Tensor]:
    r"""GHM-R loss and the updated moving average of the region counts.

    Args:
        pred: box regression output, (N, 4) or (N, 4 * C), any shape.
        target: regression targets of pred's shape.
        weight: weights of pred's shape (or (N,) per row of a 2-D pred);
            elements with weight 0 are ignored.
        acc_sum: moving average :math:`S` of the region counts, (bins,).
        edges: region edges, (bins + 1,) (last edge large, e.g. 1000).
        momentum: :math:`\mu \in [0, 1)` of the moving average (the paper's
            momentum, not the Authentic Smooth L1 parameter ``mu``).
        mu: :math:`\mu > 0` of the Authentic Smooth L1 loss.
        reduction, all_reduce, compiled: as in :func:`ghmc_loss`.
    Returns:
        ``(loss, new_acc_sum)``.
    """
    check_reduction(reduction)
    check_same_shape(pred, target)
    weight = broadcast_weight(weight, pred.shape)
    target = target.to(torch.promote_types(pred.dtype, torch.float32))
    index, table, new_acc_sum, total, processes = _harmonize(
        _ghmr_bins(pred, target, weight, edges, mu, compiled=compiled),
        acc_sum, momentum, all_reduce)
    loss = _ghmr_weighted(pred, target, weight, index, table, mu,
                          reduction != 'none', compiled=compiled)
    return _reduce(loss, reduction, total, processes), new_acc_sum
