r"""Quality Focal Loss (Li et al., "Generalized Focal Loss: Learning
Qualified and Distributed Bounding Boxes for Dense Object Detection",
NeurIPS 2020).

The classifier predicts one joint class-and-quality score per class,
:math:`p = \sigma(x)` (or ``p`` itself when it is already a probability),
and learns a soft target :math:`t \in [0, 1]`: the localisation quality
(IoU) of the box at its class, 0 at the other classes and for background.
Per element

.. math::
    \mathrm{QFL}(x, t) = |t - p|^\beta \, \mathrm{BCE}(p, t),\qquad
    \mathrm{BCE}(p, t) = -t \log p - (1 - t) \log (1 - p)

so a negative costs :math:`p^\beta \mathrm{BCE}(p, 0)` and a positive
:math:`|y - p|^\beta \mathrm{BCE}(p, y)`. The loss of a row is its sum over
the classes.

The derivative is written out and computed with the loss (see
:class:`.compile.WithDerivative`); with :math:`d = p - t`, :math:`a = |d|`:

.. math::
    \partial_x \mathrm{QFL} = \beta\,\mathrm{sign}(d)\,a^{\beta - 1}
    p (1 - p)\,\mathrm{BCE} + a^\beta (p - t),\qquad
    \partial_p \mathrm{QFL} = \beta\,\mathrm{sign}(d)\,a^{\beta - 1}
    \mathrm{BCE} + a^\beta \frac{p - t}{p (1 - p)}

for logits and for probabilities. At :math:`a = 0` the first term is taken
as 0 (for :math:`\beta < 1` the derivative is unbounded there). The
probability form clamps the logarithms at -100 and :math:`p (1 - p)` at
1e-12 as ``torch.nn.functional.binary_cross_entropy`` does.

This is not the soft-target generalisation of Focal Loss in
:mod:`.focal` (mmdet's ``sigmoid_focal_loss``), whose modulating factor is
:math:`t (1 - p) + (1 - t) p` with an :math:`\alpha_t`; the two agree only
on 0/1 targets without :math:`\alpha`.
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from ..utils.settings import check_number
from .compile import differentiable, kernel
from .numerics import (
    LOG_MIN,
    VARIANCE_MIN,
    opmath,
    opmath_dtype,
    scalar,
    sigmoid_parts,
)
from .reduction import (
    broadcast_weight,
    check_labels,
    check_reduction,
    check_same_shape,
    finish_reduction,
    weighted_result,
)
from .targets import one_hot

QualityTarget = Union[Tuple[Tensor, Tensor], Tensor]


@kernel
def _quality_focal(pred, labels, scores, weight, beta, *, activated, summed,
                   derivative):
    """Per-row QFL of (N, C) logits (or, ``activated``, probabilities) and
    its derivative (``derivative`` True). The target is ``scores`` itself
    (N, C) when ``labels`` is None, else ``scores`` (N,) at the ``labels``
    (N,) class of each row."""
    x = opmath(pred)
    if labels is None:
        t = scores.to(x.dtype)
    else:
        t = one_hot(labels, x.shape[1], x.dtype) * scores.to(x.dtype)[:, None]
    if activated:
        p = x
        bce = -(t * torch.log(p).clamp_min(LOG_MIN) +
                (1 - t) * torch.log1p(-p).clamp_min(LOG_MIN))
        variance = (p * (1 - p)).clamp_min(VARIANCE_MIN)
    else:
        p, one_minus_p, bce = sigmoid_parts(x, t)
        variance = p * one_minus_p
    d = p - t
    a = d.abs()
    positive_a = a.clamp_min(torch.finfo(a.dtype).tiny)
    # a^beta through exp (vectorised, where pow with a tensor exponent is
    # not), 1 at beta = 0
    modulator = torch.where(a > 0, torch.exp(beta * torch.log(positive_a)),
                            (beta == 0).to(a.dtype))
    grad = None
    if derivative:
        # beta a^(beta - 1) as beta a^beta / a: finite, 0 at a = 0
        slope = beta * modulator / positive_a
        focus = torch.sign(d) * slope * bce
        if activated:
            grad = focus + modulator * d / variance
        else:
            grad = focus * variance + modulator * d
    return weighted_result((modulator * bce).sum(1), grad, weight, summed,
                           pred.dtype)


def _split_target(pred: Tensor, target: QualityTarget):
    """(labels, scores) of the pair form, or (None, target) of the tensor
    form, after checking them against ``pred``."""
    if isinstance(target, Tensor):
        if pred.dim() < 2:
            raise ValueError('pred must have shape (N, C, ...), got '
                             f'{tuple(pred.shape)}')
        check_same_shape(pred, target)
        return None, target
    if not isinstance(target, (tuple, list)) or len(target) != 2:
        raise ValueError('target must be a tensor of the shape of pred or a '
                         '(labels, scores) pair, got '
                         f'{type(target).__name__} of length '
                         f'{len(target) if hasattr(target, "__len__") else 0}')
    labels, scores = target
    if pred.dim() != 2:
        raise ValueError('pred must have shape (N, C) with (labels, scores) '
                         f'targets, got {tuple(pred.shape)}')
    n = pred.shape[0]
    if labels.shape != (n,) or labels.is_floating_point():
        raise ValueError('labels must be class indices of shape (N,) (an '
                         f'integer tensor) for pred {tuple(pred.shape)}, got '
                         f'{tuple(labels.shape)} ({labels.dtype})')
    if scores.shape != (n,) or not scores.is_floating_point():
        raise ValueError('scores must be quality targets of shape (N,) (a '
                         f'float tensor) for pred {tuple(pred.shape)}, got '
                         f'{tuple(scores.shape)} ({scores.dtype})')
    check_labels(labels, pred)
    return labels, scores


def _rows(tensor: Tensor) -> Tensor:
    """(N, C, *) as (N * prod(*), C): the classes along the last axis."""
    return tensor.movedim(1, -1).reshape(-1, tensor.shape[1])


def quality_focal_loss(pred: Tensor,
                       target: QualityTarget,
                       weight: Optional[Tensor] = None,
                       beta: float = 2.0,
                       activated: bool = False,
                       reduction: str = 'mean',
                       avg_factor: Optional[Union[float, Tensor]] = None,
                       compiled: bool = False) -> Tensor:
    r"""Quality Focal Loss, weighted and reduced (see the module docstring).

    Args:
        pred: (N, C) logits, one per foreground class, or probabilities with
            ``activated=True``. With a tensor target also (N, C, ...), the
            classes along dimension 1.
        target: either ``(labels, scores)``: class indices (N,) in [0, C]
            (integer; C is background, an all-zero target row; any other
            value raises) and the quality targets (N,) in [0, 1] of the
            labelled class; or soft targets of pred's shape, 0 at the
            negatives.
        weight: weight of each row, of the loss's shape: (N,) (or (N, ...)
            for a dense pred).
        beta: exponent of the modulating factor :math:`|t - p|^\beta`,
            :math:`\ge 0` (paper: 2).
        activated: pred holds probabilities in [0, 1], not logits.
        reduction: 'none' (the loss of each row, pred's shape without the
            class dimension), 'sum', or 'mean' (sum / avg_factor, or the mean
            over the rows without avg_factor).
        avg_factor: divisor of the summed loss for 'mean'.
        compiled: run the compiled kernel (see :mod:`.compile`).
    """
    check_reduction(reduction, avg_factor=avg_factor)
    beta = check_number(beta, 'beta', low=0)
    labels, scores = _split_target(pred, target)
    loss_shape = pred.shape[:1] + pred.shape[2:]
    weight = broadcast_weight(weight, loss_shape)
    dense = pred.dim() > 2
    if dense:
        pred, scores = _rows(pred), _rows(scores)
        weight = None if weight is None else weight.reshape(-1)
    summed = reduction != 'none'
    beta = scalar('beta', beta, pred.device, opmath_dtype(pred.dtype))
    loss = differentiable(_quality_focal, pred, labels, scores, weight, beta,
                          compiled=compiled, activated=bool(activated),
                          summed=summed)
    if not summed:
        loss = loss.reshape(loss_shape)
    return finish_reduction(loss, reduction, avg_factor, loss_shape.numel())
