"""Shape checks, label-weight broadcasting and loss reduction of the losses.

The semantics are those of mmdet's ``weight_reduce_loss``: the element-wise
loss is multiplied by the weight, then ``'none'`` returns it, ``'sum'`` sums
it and ``'mean'`` divides the sum by ``avg_factor`` (plus the float32 machine
epsilon, so that an ``avg_factor`` of 0 gives 0, not NaN) or, without
``avg_factor``, takes the mean over all elements. ``avg_factor`` with
``'sum'`` is refused, as mmdet refuses it.
"""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from ..utils.settings import check_choice

REDUCTIONS = ('none', 'mean', 'sum')
_EPS = torch.finfo(torch.float32).eps


def check_reduction(reduction: str, name: str = 'reduction',
                    allowed: Sequence[str] = REDUCTIONS,
                    avg_factor=None) -> str:
    """Returns ``reduction`` or raises ValueError naming the ``allowed``
    values, or saying that ``avg_factor`` can not be used with ``'sum'``."""
    why = '' if 'none' in allowed else ' (this loss has no per-element value)'
    check_choice(reduction, name, allowed, why)
    if reduction == 'sum' and avg_factor is not None:
        raise ValueError("avg_factor can not be used with reduction='sum'")
    return reduction


def check_same_shape(pred: Tensor, target: Tensor, what: str = 'target'):
    """Raises ValueError giving both shapes unless they are equal."""
    if pred.shape != target.shape:
        raise ValueError(f'pred and {what} shapes differ: pred '
                         f'{tuple(pred.shape)}, {what} {tuple(target.shape)}')


def check_class_target(pred: Tensor, target: Tensor, softmax: bool = False,
                       dense: bool = False) -> bool:
    """Checks a classification target against ``pred``.

    ``pred`` is (N, C) and the target class indices of shape (N,) (an
    integer tensor, checked by :func:`check_labels`) or one-hot / soft
    targets of shape (N, C); with ``dense`` ``pred`` may also have more
    dimensions, such as (B, C, H, W), with a target of the same shape.
    Returns True for class indices.
    """
    if pred.dim() != 2 and not (dense and pred.dim() > 2):
        shapes = '(N, C) or (B, C, ...)' if dense else '(N, C)'
        raise ValueError(f'pred must have shape {shapes}, got '
                         f'{tuple(pred.shape)}')
    if target.dim() == 1 and pred.dim() == 2:
        if target.shape[0] != pred.shape[0] or target.is_floating_point():
            raise ValueError(
                'pred and target shapes differ: pred '
                f'{tuple(pred.shape)}, target {tuple(target.shape)} '
                f'({target.dtype}); a target is class indices of shape (N,) '
                '(an integer tensor) or one-hot of the shape of pred')
        check_labels(target, pred, softmax)
        return True
    check_same_shape(pred, target)
    return False


def check_labels(labels: Tensor, pred: Tensor, softmax: bool = False):
    """Raises unless every class index of ``labels`` fits ``pred`` (N, C):
    in [0, C] for one logit per foreground class (C the background), in
    [0, C - 1] for softmax over the classes and background.

    Without a host sync: a device-side assertion, which raises at once on
    CPU and fails the next synchronising call on an accelerator.
    """
    if labels.numel() == 0:
        return
    if softmax:
        upper, meaning = pred.shape[1] - 1, 'softmax: the classes of pred'
    else:
        upper, meaning = pred.shape[1], 'C = pred.shape[1] is background'
    low, high = torch.aminmax(labels)
    torch._assert_async(
        (low >= 0) & (high <= upper),
        f'class-index target out of range: every label must lie in [0, '
        f'{upper}] ({meaning}); is num_classes of the head that of the '
        'dataset?')


def broadcast_weight(weight: Optional[Tensor], shape: torch.Size,
                     name: str = 'weight') -> Optional[Tensor]:
    """Views ``weight`` so that it broadcasts against a loss of ``shape``.

    Accepted: ``None``, the loss shape itself, one weight per row (N,) or
    (N, 1) of a 2-D loss, or the loss flattened (N * C,), as mmdet's losses
    accept. Anything else raises ValueError giving both shapes.
    """
    if weight is None:
        return None
    if weight.shape == shape:
        return weight
    if len(shape) == 2:
        if weight.dim() == 1 and weight.shape[0] == shape[0]:
            return weight.unsqueeze(1)
        if weight.dim() == 2 and tuple(weight.shape) == (shape[0], 1):
            return weight
        if weight.dim() == 1 and weight.shape[0] == shape[0] * shape[1]:
            return weight.view(shape)
    raise ValueError(f'{name} of shape {tuple(weight.shape)} does not fit a '
                     f'loss of shape {tuple(shape)}')


def reduce_loss(loss: Tensor, reduction: str,
                avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """Reduces an element-wise (already weighted) loss.

    Args:
        loss: element-wise loss, any shape.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor: divisor of the summed loss for ``'mean'``; not allowed
            with ``'sum'``.
    """
    check_reduction(reduction, avg_factor=avg_factor)
    if reduction == 'none':
        return loss
    return finish_reduction(loss.sum(), reduction, avg_factor, loss.numel())


def finish_reduction(loss: Tensor, reduction: str,
                     avg_factor: Optional[Union[float, Tensor]],
                     count: int) -> Tensor:
    """The last step of every loss: ``loss`` is the element losses for
    ``'none'`` (returned as they are), else their sum, which ``'mean'``
    divides by ``avg_factor + eps`` or, without ``avg_factor``, by the
    ``count`` of elements (the mean of no element is 0, not NaN)."""
    if reduction != 'mean':
        return loss
    if avg_factor is None:
        return loss / max(count, 1)
    return loss / (avg_factor + _EPS)


def weighted_result(loss: Tensor, derivative: Optional[Tensor],
                    weight: Optional[Tensor], summed: bool, dtype):
    """``(loss, derivative, element_loss)`` of a kernel: the element losses
    and the derivative times ``weight`` (which has the loss's shape or
    broadcasts to it), ``loss`` their sum if asked, the derivative in
    ``dtype`` (pred's).

    Returning the element losses makes a compiled kernel write them once
    and sum what it wrote, in the loop that computes the derivative; without
    them TorchInductor recomputes every element in a second loop for the
    sum. The sum accumulates in float64: TorchInductor's CPU code for a
    float32 sum depends on the number of elements (above 4096 it sums in
    chunks), which would specialise a kernel to that size.
    """
    if weight is not None:
        loss = loss * weight
        if derivative is not None:
            if weight.dim() < derivative.dim():
                weight = weight.unsqueeze(-1)
            derivative = derivative * weight
    if derivative is not None:
        derivative = derivative.to(dtype)
    if not summed:
        return loss, derivative, loss
    return loss.sum(dtype=torch.float64).to(loss.dtype), derivative, loss
