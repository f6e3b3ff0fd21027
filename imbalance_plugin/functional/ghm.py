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

:math:`\beta` is a constant of the step (no gradient flows through the
density). Label weights are weights: unlike mmdet's GHMC / GHMR, which keep
only ``weight > 0``, the value multiplies the loss (the density still counts
the elements with weight > 0). For 0/1 weights both agree.

Distributed normalisation: with ``all_reduce=True`` and :math:`P > 1`
processes, the counts and :math:`N` are those of the global batch, and each
process returns :math:`\frac{P}{N} \sum_{i \in \text{local}} \beta_i w_i
\ell_i`. DistributedDataParallel averages gradients over the :math:`P`
processes, so the averaged gradient (and the mean of the logged losses) is
exactly that of one process computing :math:`L` on the whole batch.

Each loss is two passes over the elements: one computes :math:`g` and counts
the regions (writing each element's slot, one byte), one reads the slots and
computes the loss and (in the same pass) its derivative, which the backward
pass only scales. Each pass is one compiled graph; in a single process the
first includes the density update, distributed the counts are all-reduced
between the two.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .compile import differentiable, kernel
from .gradient_density import (
    bin_counts,
    bin_slots,
    global_counts,
    harmonizing_weights,
    slot_region,
    world_size,
)
from .numerics import opmath, opmath_dtype, scalar, sigmoid_parts
from .reduction import (
    broadcast_weight,
    check_class_target,
    check_reduction,
    check_same_shape,
    weighted_result,
)
from .targets import dense_target


def _valid(weight: Optional[Tensor], like: Tensor) -> Tensor:
    if weight is None:
        return torch.ones((), dtype=torch.bool, device=like.device)
    return weight > 0


def _beta(slots: Tensor, table: Tensor, dtype: torch.dtype) -> Tensor:
    return table.to(dtype)[slot_region(slots, table.shape[0] - 1)]


def _ghmc_slots(pred, target, weight, bins, use_sigmoid):
    x = opmath(pred).detach()
    t = dense_target(target, x)
    valid = _valid(weight, x)
    if use_sigmoid:
        # sigmoid_parts as in the loss pass (the same rounding of g)
        g = (sigmoid_parts(x, t)[0] - t).abs()
    else:
        g = 0.5 * (torch.softmax(x, dim=-1) - t).abs().sum(-1)
    return bin_slots(g, valid.expand_as(g), bins)


def _ghmr_slots(pred, target, weight, bins, mu):
    diff = (opmath(pred) - target).detach()
    # the loss pass's root (mmdet's up to the order of one exact addition)
    g = (diff / torch.sqrt(diff * diff + mu * mu)).abs()
    return bin_slots(g, _valid(weight, diff).expand_as(g), bins)


def _density(slots_fn, pred, target, weight, acc_sum, momentum, option):
    """The first pass and the density update, for a single process:
    ``(slots, table, new_acc_sum, total)``."""
    slots = slots_fn(pred, target, weight, acc_sum.shape[0], option)
    counts = bin_counts(slots, acc_sum.shape[0])
    return (slots,) + harmonizing_weights(counts, acc_sum, momentum)


def _counts(slots_fn, pred, target, weight, bins, option):
    """The first pass alone (distributed: the counts are all-reduced before
    the update)."""
    slots = slots_fn(pred, target, weight, bins, option)
    return slots, bin_counts(slots, bins)


# Slots are in range of the table by construction: no bounds check per
# lookup in the compiled code.
_OPTIONS = {'assert_indirect_indexing': False}


@kernel(options=_OPTIONS)
def _ghmc_density(*args):
    return _density(_ghmc_slots, *args)


@kernel(options=_OPTIONS)
def _ghmr_density(*args):
    return _density(_ghmr_slots, *args)


@kernel(options=_OPTIONS)
def _ghmc_counts(*args):
    return _counts(_ghmc_slots, *args)


@kernel(options=_OPTIONS)
def _ghmr_counts(*args):
    return _counts(_ghmr_slots, *args)


@kernel(options=_OPTIONS)
def _harmonized_ce(pred, target, weight, slots, table, *, use_sigmoid, summed,
                   derivative):
    r""":math:`\beta` times binary cross-entropy (element-wise) or softmax
    cross-entropy (per row), and its derivative."""
    x = opmath(pred)
    t = dense_target(target, x)
    beta = _beta(slots, table, x.dtype)
    d = None
    if use_sigmoid:
        p, _, bce = sigmoid_parts(x, t)
        loss = beta * bce
        if derivative:
            d = beta * (p - t)
    else:
        log_p = torch.log_softmax(x, dim=-1)
        loss = -beta * (t * log_p).sum(-1)
        if derivative:
            p = torch.exp(log_p)
            d = beta.unsqueeze(-1) * (p * t.sum(-1, keepdim=True) - t)
    return weighted_result(loss, d, weight, summed, pred.dtype)


@kernel(options=_OPTIONS)
def _harmonized_asl1(pred, target, weight, slots, table, mu, *, summed,
                     derivative):
    r""":math:`\beta` times Authentic Smooth L1, element-wise, and its
    derivative."""
    diff = opmath(pred) - target
    root = torch.sqrt(diff * diff + mu * mu)
    beta = _beta(slots, table, diff.dtype)
    d = beta * diff / root if derivative else None
    return weighted_result(beta * (root - mu), d, weight, summed, pred.dtype)


def _ghm(density, counts, harmonized, pred, target, weight, acc_sum,
         momentum, option, reduction, all_reduce, compiled, loss_args=(),
         loss_flags=None):
    """Both passes, the density update and the reduction; ``option`` is the
    slots' ``use_sigmoid`` or ``mu``, ``loss_args`` and ``loss_flags`` the
    harmonized loss's own."""
    momentum = scalar('momentum', momentum, pred.device)
    if all_reduce and world_size() > 1:
        slots, counts = counts(pred, target, weight, acc_sum.shape[0],
                               option, compiled=compiled)
        counts, processes = global_counts(counts, True)
        table, new_acc_sum, total = harmonizing_weights(counts, acc_sum,
                                                        momentum)
    else:
        processes = 1
        slots, table, new_acc_sum, total = density(
            pred, target, weight, acc_sum, momentum, option,
            compiled=compiled)
    summed = reduction != 'none'
    loss = differentiable(harmonized, pred, target, weight, slots, table,
                          *loss_args, compiled=compiled, summed=summed,
                          **(loss_flags or {}))
    if reduction == 'mean':
        loss = loss * (processes / total)
    return loss, new_acc_sum


def ghmc_loss(pred: Tensor,
              target: Tensor,
              weight: Optional[Tensor],
              acc_sum: Tensor,
              momentum: float,
              use_sigmoid: bool = True,
              reduction: str = 'mean',
              all_reduce: bool = True,
              compiled: bool = False) -> Tuple[Tensor, Tensor]:
    r"""GHM-C loss and the updated moving average of the region counts.

    Args:
        pred: logits, (N, C) for sigmoid (one per foreground class) or (N, K)
            for softmax (K = C + 1, background last).
        target: class indices (N,) (integer; sigmoid: in [0, C], C the
            background, an all-negative row; softmax: in [0, K - 1]; any
            other value raises) or one-hot / soft targets of pred's shape.
        weight: label weights, (N,) or (N, 1) per row, or (N, C) / (N * C,)
            per element (sigmoid); elements with weight 0 are ignored.
        acc_sum: moving average :math:`S` of the region counts; its length
            is the number of regions (``bins``).
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
    check_class_target(pred, target, softmax=not use_sigmoid)
    loss_shape = pred.shape if use_sigmoid else pred.shape[:1]
    weight = broadcast_weight(weight, loss_shape)
    return _ghm(_ghmc_density, _ghmc_counts, _harmonized_ce, pred, target,
                weight, acc_sum, momentum, use_sigmoid, reduction, all_reduce,
                compiled, loss_flags=dict(use_sigmoid=use_sigmoid))


def ghmr_loss(pred: Tensor,
              target: Tensor,
              weight: Optional[Tensor],
              acc_sum: Tensor,
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
    dtype = opmath_dtype(pred.dtype)
    mu = scalar('mu', mu, pred.device, dtype)
    return _ghm(_ghmr_density, _ghmr_counts, _harmonized_asl1, pred,
                target.to(dtype), weight, acc_sum, momentum, mu, reduction,
                all_reduce, compiled, loss_args=(mu,))
