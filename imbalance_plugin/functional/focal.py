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
from functools import lru_cache
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from ..utils.settings import check_number
from ..utils.torch_compat import is_compiling
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
    check_class_target,
    check_reduction,
    finish_reduction,
    weighted_result,
)
from .targets import dense_target

Alpha = Optional[Union[float, Sequence[float], Tensor]]


def _power(q: Tensor, gamma: Tensor, log_q: Tensor) -> Tensor:
    r""":math:`q^\gamma` from :math:`\log q` (a vectorised ``exp``, where
    ``pow`` with a tensor exponent is not), 1 at :math:`\gamma = 0`."""
    return torch.where(q > 0, torch.exp(gamma * log_q),
                       (gamma == 0).to(q.dtype))


@kernel
def _sigmoid_focal(pred, target, weight, gamma, alpha_pos, alpha_neg, *,
                   activated, summed, derivative):
    """Element-wise sigmoid focal loss and its derivative (``derivative``
    True) of logits (or, ``activated``, probabilities) of any shape;
    ``alpha_pos`` / ``alpha_neg`` broadcast against them."""
    x = opmath(pred)
    t = dense_target(target, x)
    hard = target.dim() < x.dim()  # class indices: t is 0 or 1
    if activated:
        p, one_minus_p = x, 1 - x
        bce = -(t * torch.log(p).clamp_min(LOG_MIN) +
                (1 - t) * torch.log(one_minus_p).clamp_min(LOG_MIN))
    else:
        p, one_minus_p, bce = sigmoid_parts(x, t)
    q = t * one_minus_p + (1 - t) * p
    if hard and not activated:
        # q = 1 - p_t and -log q is the BCE of the other target, 1 - t
        focus = torch.exp(gamma * -(bce + x * (2 * t - 1)))
    else:
        focus = _power(q, gamma, torch.log(q))
    alpha_t = alpha_pos * t + alpha_neg * (1 - t)
    d = None
    if derivative and activated:
        slope = torch.where(q > 0, focus / q, 0.0)
        d = alpha_t * (gamma * slope * (1 - 2 * t) * bce + focus * (p - t) /
                       (p * one_minus_p).clamp_min(VARIANCE_MIN))
    elif derivative:
        if hard:  # p (1 - p) / q = p_t
            ratio = t * p + (1 - t) * one_minus_p
        else:
            ratio = torch.where(q > 0, p * one_minus_p / q, 0.0)
        d = alpha_t * focus * (gamma * ratio * (1 - 2 * t) * bce + p - t)
    return weighted_result(alpha_t * focus * bce, d, weight, summed,
                           pred.dtype)


@kernel
def _softmax_focal(pred, target, weight, gamma, alpha, *, summed,
                   derivative):
    """Per-row softmax focal loss of (N, K) logits and its derivative;
    ``alpha`` (K,) weighs each class."""
    x = opmath(pred)
    t = dense_target(target, x)
    log_p = torch.log_softmax(x, dim=-1)
    one_minus_p = -torch.expm1(log_p)
    weighted = t * alpha * _power(one_minus_p, gamma, torch.log(one_minus_p))
    d = None
    if derivative:
        p = torch.exp(log_p)
        log_p_ratio = torch.where(
            one_minus_p > 0, log_p / one_minus_p.clamp_min(1e-30), -1.0)
        c = weighted * (gamma * p * log_p_ratio - 1)
        d = c - p * c.sum(-1, keepdim=True)
    return weighted_result(-(weighted * log_p).sum(-1), d, weight, summed,
                           pred.dtype)


def _softmax_alpha(alpha: Optional[float], channels: int,
                   device: torch.device, dtype: torch.dtype) -> Tensor:
    """(K,) class weights: alpha for the classes, 1 - alpha for the
    background (last), or ones; made once per setting."""
    if is_compiling():
        return _class_weights(alpha, channels, device, dtype)
    return _cached_class_weights(alpha, channels, device, dtype)


def _class_weights(alpha, channels, device, dtype):
    background = torch.arange(channels, device=device) == channels - 1
    if alpha is None:
        return torch.ones(channels, dtype=dtype, device=device)
    return torch.where(background, 1 - alpha, alpha).to(dtype)


@lru_cache(maxsize=256)
def _cached_class_weights(alpha, channels, device, dtype):
    with torch.inference_mode(False):
        return _class_weights(alpha, channels, device, dtype)


def _alpha_args(alpha: Alpha, pred: Tensor, use_sigmoid: bool):
    """The alpha tensors of a kernel: (alpha_pos, alpha_neg) for sigmoid,
    (alpha,) for softmax."""
    dtype = opmath_dtype(pred.dtype)
    if not use_sigmoid:
        if isinstance(alpha, Tensor):
            return (alpha.to(device=pred.device, dtype=dtype),)
        return (_softmax_alpha(alpha, pred.shape[-1], pred.device, dtype),)
    if isinstance(alpha, Tensor):
        # one per class, along pred's class axis (dimension 1)
        shape = (-1,) + (1,) * (pred.dim() - 2)
        pos = alpha.to(device=pred.device, dtype=dtype).view(shape)
        return pos, 1 - pos
    if alpha is None:
        return (scalar('alpha_pos', 1.0, pred.device, dtype),
                scalar('alpha_neg', 1.0, pred.device, dtype))
    return (scalar('alpha_pos', alpha, pred.device, dtype),
            scalar('alpha_neg', 1 - alpha, pred.device, dtype))


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
               activated: bool = False,
               compiled: bool = False) -> Tensor:
    r"""Sigmoid or softmax focal loss, weighted and reduced.

    Args:
        pred: logits. Sigmoid: (N, C), one per foreground class, or dense
            (B, C, H, W) (any shape with the classes along dimension 1) with
            a target of the same shape. Softmax: (N, K) with K = C + 1
            classes, background last.
        target: class indices (N,) (integer; sigmoid: in [0, C], C the
            background, an all-zero target row; softmax: in [0, K - 1]; any
            other value raises) or one-hot / soft targets of pred's shape.
        weight: element weights multiplying the loss: (N,) or (N, 1) per row,
            or (N, C) / flattened (N * C,) per element (sigmoid only); dense
            pred: pred's shape.
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
        activated: pred holds probabilities :math:`p` instead of logits
            (sigmoid only; mmdet's ``activated``); the logarithms are
            clamped at -100 as in ``binary_cross_entropy``.
        compiled: run the compiled kernel (see :mod:`.compile`).
    """
    check_reduction(reduction, avg_factor=avg_factor)
    gamma = check_number(gamma, 'gamma', low=0)
    if activated and not use_sigmoid:
        raise ValueError('activated=True (probabilities) needs '
                         'use_sigmoid=True')
    check_class_target(pred, target, softmax=not use_sigmoid,
                       dense=use_sigmoid)
    channels = pred.shape[1]
    if not isinstance(alpha, Tensor):
        alpha = check_alpha(alpha)
    # A tensor alpha is taken as validated: checking its values would wait
    # for the device.
    if isinstance(alpha, Tensor):
        if alpha.numel() != channels:
            raise ValueError(f'alpha has {alpha.numel()} values but pred has '
                             f'{channels} class channels')
        alpha = alpha.flatten()
    loss_shape = pred.shape if use_sigmoid else pred.shape[:1]
    weight = broadcast_weight(weight, loss_shape)
    return _focal_loss(pred, target, weight, gamma, alpha, use_sigmoid,
                       reduction, avg_factor, activated, compiled)


def _focal_loss(pred, target, weight, gamma, alpha, use_sigmoid, reduction,
                avg_factor, activated, compiled):
    """:func:`focal_loss` past its checks (arguments already validated)."""
    summed = reduction != 'none'
    dtype = opmath_dtype(pred.dtype)
    gamma = scalar('gamma', gamma, pred.device, dtype)
    alpha = _alpha_args(alpha, pred, use_sigmoid)
    if use_sigmoid:
        loss = differentiable(_sigmoid_focal, pred, target, weight, gamma,
                              *alpha, compiled=compiled, activated=activated,
                              summed=summed)
    else:
        loss = differentiable(_softmax_focal, pred, target, weight, gamma,
                              *alpha, compiled=compiled, summed=summed)
    loss_shape = pred.shape if use_sigmoid else pred.shape[:1]
    return finish_reduction(loss, reduction, avg_factor, loss_shape.numel())
