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
the regions, one the loss and (in the same pass) its derivative, which the
backward pass only scales. In a single process both passes and the density
update are one compiled graph; distributed, the counts are all-reduced
between two.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .compile import kernel
from .gradient_density import (bin_counts, bin_slots, global_counts,
                               harmonizing_weights, slot_region, world_size)
from .numerics import opmath, sigmoid_parts
from .reduction import (broadcast_weight, check_class_target,
                        check_reduction, check_same_shape)
from .targets import dense_target


def _valid(weight: Optional[Tensor], like: Tensor) -> Tensor:
    if weight is None:
        return torch.ones((), dtype=torch.bool, device=like.device)
    return weight > 0


def _in_range(target: Tensor, channels: int) -> Tensor:
    if target.dim() == 2:
        return torch.ones((), dtype=torch.bool, device=target.device)
    return (target >= 0) & (target < channels)


class _HarmonizedBCE(torch.autograd.Function):
    """:math:`\\beta` times binary cross-entropy, element-wise."""

    @staticmethod
    def forward(ctx, pred, target, slots, table):
        x = opmath(pred)
        t = dense_target(target, x)
        p, _, bce = sigmoid_parts(x, t)
        beta = table.to(x.dtype)[slot_region(slots, table.shape[0] - 1)]
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward((beta * (p - t)).to(pred.dtype))
        return beta * bce

    @staticmethod
    def backward(ctx, grad):
        derivative, = ctx.saved_tensors
        return grad * derivative, None, None, None


class _HarmonizedCE(torch.autograd.Function):
    """:math:`\\beta` times softmax cross-entropy, per row."""

    @staticmethod
    def forward(ctx, pred, target, slots, table):
        x = opmath(pred)
        t = dense_target(target, x)
        log_p = torch.log_softmax(x, dim=-1)
        beta = table.to(x.dtype)[slot_region(slots, table.shape[0] - 1)]
        if ctx.needs_input_grad[0]:
            p = torch.exp(log_p)
            derivative = p * t.sum(-1, keepdim=True) - t
            ctx.save_for_backward(
                (beta.unsqueeze(-1) * derivative).to(pred.dtype))
        return -beta * (t * log_p).sum(-1)

    @staticmethod
    def backward(ctx, grad):
        derivative, = ctx.saved_tensors
        return grad.unsqueeze(-1) * derivative, None, None, None


class _HarmonizedASL1(torch.autograd.Function):
    """:math:`\\beta` times Authentic Smooth L1, element-wise."""

    @staticmethod
    def forward(ctx, pred, target, slots, table, mu):
        diff = opmath(pred) - target
        root = torch.sqrt(diff * diff + mu * mu)
        bins = table.shape[0] - 1
        beta = table.to(diff.dtype)[slot_region(slots, bins)]
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward((beta * diff / root).to(pred.dtype))
        return beta * (root - mu)

    @staticmethod
    def backward(ctx, grad):
        derivative, = ctx.saved_tensors
        return grad * derivative, None, None, None, None


def _ghmc_slots(pred, target, weight, bins, use_sigmoid):
    x = opmath(pred).detach()
    t = dense_target(target, x)
    valid = _valid(weight, x)
    if use_sigmoid:
        # sigmoid_parts as in the loss pass, so that a compiled graph
        # computes the exponential once when it fuses the two
        g = (sigmoid_parts(x, t)[0] - t).abs()
    else:
        g = 0.5 * (torch.softmax(x, dim=-1) - t).abs().sum(-1)
        valid = valid & _in_range(target, x.shape[-1])
    slots = bin_slots(g, valid.expand_as(g), bins)
    counts, slots = bin_counts(slots, bins)
    return slots, counts


def _ghmc_weighted(pred, target, weight, slots, table, use_sigmoid):
    function = _HarmonizedBCE if use_sigmoid else _HarmonizedCE
    loss = function.apply(pred, target, slots, table)
    return loss if weight is None else loss * weight


def _ghmr_slots(pred, target, weight, bins, mu):
    diff = (opmath(pred) - target).detach()
    # the loss pass's root (mmdet's up to the order of one exact addition)
    g = (diff / torch.sqrt(diff * diff + mu * mu)).abs()
    slots = bin_slots(g, _valid(weight, diff).expand_as(g), bins)
    counts, slots = bin_counts(slots, bins)
    return slots, counts


def _ghmr_weighted(pred, target, weight, slots, table, mu):
    loss = _HarmonizedASL1.apply(pred, target, slots, table, mu)
    return loss if weight is None else loss * weight


def _reduce(loss: Tensor, reduction: str, total: Tensor,
            processes: int) -> Tensor:
    if reduction == 'none':
        return loss
    loss = loss.sum()
    return loss * (processes / total) if reduction == 'mean' else loss


def _local(slots_fn, weighted_fn, pred, target, weight, acc_sum, momentum,
           option, reduction):
    """Both passes and the density update, for a single process."""
    slots, counts = slots_fn(pred, target, weight, acc_sum.shape[0], option)
    table, new_acc_sum, total = harmonizing_weights(counts, acc_sum,
                                                    momentum)
    loss = weighted_fn(pred, target, weight, slots, table, option)
    return _reduce(loss, reduction, total, 1), new_acc_sum


def _distributed(slots_fn, weighted_fn, pred, target, weight, acc_sum,
                 momentum, option, reduction, compiled):
    """The two passes with the counts all-reduced between them."""
    slots, counts = slots_fn(pred, target, weight, acc_sum.shape[0], option,
                             compiled=compiled)
    counts, processes = global_counts(counts, True)
    table, new_acc_sum, total = harmonizing_weights(counts, acc_sum, momentum)
    loss = weighted_fn(pred, target, weight, slots, table, option,
                       compiled=compiled)
    return _reduce(loss, reduction, total, processes), new_acc_sum


# Slots are in range of the table by construction: no bounds check per
# lookup in the compiled code.
_OPTIONS = {'assert_indirect_indexing': False}


# One compiled graph per task and path (each kernel keeps its own cache).
@kernel(options=_OPTIONS)
def _ghmc_local(*args):
    return _local(_ghmc_slots, _ghmc_weighted, *args)


@kernel(options=_OPTIONS)
def _ghmr_local(*args):
    return _local(_ghmr_slots, _ghmr_weighted, *args)


_ghmc_slots_kernel = kernel(_ghmc_slots, options=_OPTIONS)
_ghmc_weighted_kernel = kernel(_ghmc_weighted, options=_OPTIONS)
_ghmr_slots_kernel = kernel(_ghmr_slots, options=_OPTIONS)
_ghmr_weighted_kernel = kernel(_ghmr_weighted, options=_OPTIONS)


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
        target: class indices (N,) (integer; sigmoid: a label outside [0, C)
            is background, an all-negative row; softmax: a label outside
            [0, K) is ignored) or one-hot / soft targets of pred's shape.
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
    check_class_target(pred, target)
    loss_shape = pred.shape if use_sigmoid else pred.shape[:1]
    weight = broadcast_weight(weight, loss_shape)
    args = (pred, target, weight, acc_sum, momentum, use_sigmoid, reduction)
    if all_reduce and world_size() > 1:
        return _distributed(_ghmc_slots_kernel, _ghmc_weighted_kernel, *args,
                            compiled=compiled)
    return _ghmc_local(*args, compiled=compiled)


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
    target = target.to(torch.promote_types(pred.dtype, torch.float32))
    args = (pred, target, weight, acc_sum, momentum, mu, reduction)
    if all_reduce and world_size() > 1:
        return _distributed(_ghmr_slots_kernel, _ghmr_weighted_kernel, *args,
                            compiled=compiled)
    return _ghmr_local(*args, compiled=compiled)
