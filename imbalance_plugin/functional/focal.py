r"""Focal Loss (Lin et al., "Focal Loss for Dense Object Detection",
ICCV 2017).

Sigmoid form, per logit :math:`x` with target :math:`t \in [0, 1]`,
:math:`p = \sigma(x)`:

.. math::
    \mathrm{FL}(x, t) = \alpha_t \, q^\gamma \, \mathrm{BCE}(x, t),\quad
    q = t\,\sigma(-x) + (1 - t)\,\sigma(x),\quad
    \alpha_t = \alpha t + (1 - \alpha)(1 - t)

For a 0/1 target :math:`q = 1 - p_t` and this is the paper's
:math:`-\alpha_t (1 - p_t)^\gamma \log p_t`; for soft targets it is mmdet's
generalisation. Softmax form, per row of logits :math:`z` over the
:math:`K = C + 1` classes (the last one background), :math:`p =
\mathrm{softmax}(z)`:

.. math::
    \mathrm{FL}(z, t) = -\sum_k t_k \, \alpha_k (1 - p_k)^\gamma \log p_k

which for a class index :math:`y` is :math:`-\alpha_y (1 - p_y)^\gamma \log
p_y`, and cross-entropy at :math:`\gamma = 0` without :math:`\alpha`.

Both have hand-written backward passes that stay finite where autograd's
would not (``pow`` of 0 with :math:`0 < \gamma < 1`, saturated logits):

.. math::
    \partial_x \mathrm{FL} = \alpha_t q^\gamma \left[\gamma \frac{p(1-p)}{q}
    (1 - 2t)\,\mathrm{BCE} + p - t\right],\qquad
    \partial_{z_j} \mathrm{FL} = c_j - p_j \sum_k c_k,\quad
    c_k = t_k \alpha_k (1 - p_k)^\gamma
    \left[\gamma \frac{p_k \log p_k}{1 - p_k} - 1\right]

where :math:`p(1-p)/q \in [0, 1]` and :math:`\log p / (1 - p) \to -1` as
:math:`p \to 1` are evaluated with those limits.
"""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from .compile import kernel
from .numerics import opmath, sigmoid_parts
from .reduction import (broadcast_weight, check_class_target,
                        check_reduction, reduce_loss)
from .targets import dense_target

Alpha = Optional[Union[float, Sequence[float], Tensor]]


def _sigmoid_alpha_t(alpha, t: Tensor) -> Union[Tensor, float]:
    if alpha is None:
        return 1.0
    if isinstance(alpha, Tensor):
        alpha = alpha.to(t.dtype)
    return alpha * t + (1 - alpha) * (1 - t)


class _SigmoidFocal(torch.autograd.Function):
    """Element-wise sigmoid focal loss of (N, C) logits.

    The forward pass also computes the derivative (it shares every term with
    the loss) and the backward pass only scales it.
    """

    @staticmethod
    def forward(ctx, pred, target, gamma, alpha):
        x = opmath(pred)
        t = dense_target(target, x)
        p, one_minus_p, bce = sigmoid_parts(x, t)
        q = t * one_minus_p + (1 - t) * p
        alpha_t = _sigmoid_alpha_t(alpha, t)
        modulator = alpha_t * q.pow(gamma)
        if ctx.needs_input_grad[0]:
            ratio = torch.where(q > 0, p * one_minus_p / q, 0.0)
            derivative = modulator * (gamma * ratio * (1 - 2 * t) * bce +
                                      p - t)
            ctx.save_for_backward(derivative.to(pred.dtype))
        return modulator * bce

    @staticmethod
    def backward(ctx, grad):
        derivative, = ctx.saved_tensors
        return grad * derivative, None, None, None


def _softmax_alpha(alpha, x: Tensor) -> Union[Tensor, float]:
    if alpha is None:
        return 1.0
    if isinstance(alpha, Tensor):
        return alpha.to(x.dtype)
    background = torch.arange(x.shape[-1], device=x.device) == x.shape[-1] - 1
    return torch.where(background, 1 - alpha, alpha).to(x.dtype)


class _SoftmaxFocal(torch.autograd.Function):
    """Per-row softmax focal loss of (N, K) logits; the derivative is
    computed in the forward pass, as for :class:`_SigmoidFocal`."""

    @staticmethod
    def forward(ctx, pred, target, gamma, alpha):
        x = opmath(pred)
        t = dense_target(target, x)
        log_p = torch.log_softmax(x, dim=-1)
        one_minus_p = -torch.expm1(log_p)
        weighted = t * _softmax_alpha(alpha, x) * one_minus_p.pow(gamma)
        if ctx.needs_input_grad[0]:
            p = torch.exp(log_p)
            log_p_ratio = torch.where(
                one_minus_p > 0, log_p / one_minus_p.clamp_min(1e-30), -1.0)
            c = weighted * (gamma * p * log_p_ratio - 1)
            derivative = c - p * c.sum(-1, keepdim=True)
            ctx.save_for_backward(derivative.to(pred.dtype))
        return -(weighted * log_p).sum(-1)

    @staticmethod
    def backward(ctx, grad):
        derivative, = ctx.saved_tensors
        return grad.unsqueeze(-1) * derivative, None, None, None


@kernel
def _focal_kernel(pred, target, weight, gamma, alpha, use_sigmoid, summed):
    function = _SigmoidFocal if use_sigmoid else _SoftmaxFocal
    loss = function.apply(pred, target, gamma, alpha)
    if weight is not None:
        loss = loss * weight
    return loss.sum() if summed else loss


def check_gamma(gamma) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) \
            or not gamma >= 0 or gamma == float('inf'):
        raise ValueError(f'gamma must be a finite number >= 0, got {gamma!r}')
    return float(gamma)


def check_alpha(alpha, num_classes: Optional[int] = None) -> Alpha:
    """Validates ``alpha``: None, a number in [0, 1] or one per class.

    Returns None, a float or a float32 tensor of the per-class values.
    """
    if alpha is None:
        return None
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        if not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be in [0, 1], got {alpha!r}')
        return float(alpha)
    try:
        values = torch.as_tensor(alpha, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError('alpha must be None, a number in [0, 1] or a list '
                         f'of them (one per class), got {alpha!r}') from None
    if values.numel() == 0 or not bool(((values >= 0) & (values <= 1)).all()):
        raise ValueError('alpha must be None, a number in [0, 1] or a list '
                         f'of them (one per class), got {alpha!r}')
    if num_classes is not None and values.numel() != num_classes:
        raise ValueError(f'alpha has {values.numel()} values but there are '
                         f'{num_classes} classes (num_classes)')
    return values


def focal_loss(pred: Tensor,
               target: Tensor,
               weight: Optional[Tensor] = None,
               gamma: float = 2.0,
               alpha: Alpha = 0.25,
               use_sigmoid: bool = True,
               reduction: str = 'mean',
               avg_factor: Optional[Union[float, Tensor]] = None,
               compiled: bool = False) -> Tensor:
    r"""Sigmoid or softmax focal loss, weighted and reduced.

    Args:
        pred: logits. Sigmoid: (N, C), one per foreground class. Softmax:
            (N, K) with K = C + 1 classes, background last.
        target: class indices (N,) (integer; a label outside the channels,
            such as the background index C in the sigmoid form, gives an
            all-zero target row) or one-hot / soft targets of pred's shape.
        weight: element weights multiplying the loss: (N,) or (N, 1) per row,
            or (N, C) / flattened (N * C,) per element (sigmoid only).
        gamma: focusing parameter :math:`\gamma \ge 0`.
        alpha: class balance. Sigmoid: positives weigh :math:`\alpha` and
            negatives :math:`1 - \alpha`; a list gives one :math:`\alpha` per
            class (C values). Softmax: foreground rows weigh :math:`\alpha`
            and background rows :math:`1 - \alpha`; a list gives the weight of
            each of the K classes directly. None: no balancing.
        use_sigmoid: sigmoid (True) or softmax (False) form.
        reduction: 'none' (loss of pred's shape for sigmoid, (N,) for
            softmax), 'sum', or 'mean' (sum / avg_factor, or the mean over the
            elements without avg_factor).
        avg_factor: divisor of the summed loss for 'mean'.
        compiled: run the compiled kernel (see :mod:`.compile`).
    """
    check_reduction(reduction)
    if reduction == 'sum' and avg_factor is not None:
        raise ValueError("avg_factor can not be used with reduction='sum'")
    gamma = check_gamma(gamma)
    check_class_target(pred, target)
    channels = pred.shape[-1]
    if not isinstance(alpha, Tensor):
        alpha = check_alpha(alpha)
    # A tensor alpha is taken as validated: checking its values would wait
    # for the device.
    if isinstance(alpha, Tensor):
        if alpha.numel() != channels:
            raise ValueError(f'alpha has {alpha.numel()} values but pred has '
                             f'{channels} class channels')
        alpha = alpha.to(pred.device).flatten()
    loss_shape = pred.shape if use_sigmoid else pred.shape[:1]
    weight = broadcast_weight(weight, loss_shape)
    summed = reduction != 'none'
    loss = _focal_kernel(pred, target, weight, gamma, alpha, use_sigmoid,
                         summed, compiled=compiled)
    if not summed:
        return loss
    if reduction == 'sum':
        return reduce_loss(loss, 'sum', avg_factor)
    if avg_factor is None:
        return loss / max(loss_shape.numel(), 1)
    return reduce_loss(loss, 'mean', avg_factor)
