r"""Gradient norms of single examples, as functions of the GHM paper's ``g``
(Li et al., "Gradient Harmonized Single-stage Detector", AAAI 2019).

Classification, per sigmoid output :math:`x` with target :math:`t \in \{0,1\}`
and :math:`p = \sigma(x)`:

* cross-entropy: :math:`|\partial L_{CE} / \partial x| = |p - t| = g`;
* Focal Loss :math:`-\alpha_t (1 - p_t)^\gamma \log p_t` with
  :math:`1 - p_t = g`:
  :math:`|\partial L_{FL} / \partial x| =
  \alpha_t\, g^\gamma \bigl(g - \gamma (1 - g) \ln(1 - g)\bigr)`.

Regression, per coordinate of the residual :math:`d = x - t`:

* Authentic Smooth L1 :math:`\sqrt{d^2 + \mu^2} - \mu`:
  :math:`g = |d| / \sqrt{d^2 + \mu^2}` (GHM-R's gradient norm, in [0, 1));
* smooth L1 with parameter :math:`\beta`: :math:`\min(|d| / \beta, 1)`
  (:math:`\beta = 0`: L1, gradient norm 1).

GHM-C and GHM-R multiply these by the harmonising weight of the example's
region (:mod:`imbalance_plugin.diagnostics.gradient_histogram`).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def sigmoid_classification_g(cls_score: Tensor, labels: Tensor,
                             label_weights: Tensor) -> Tuple[Tensor, Tensor]:
    """``g = |sigmoid(x) - t|`` of every valid sigmoid output.

    Args:
        cls_score: (n, C) logits, one per foreground class.
        labels: (n,) class indices, ``C`` (or any value outside [0, C)) for
            background.
        label_weights: (n,) weights; anchors with weight 0 are left out.
    Returns:
        ``(g, positive)``, both (m,) with m = C * (number of valid anchors):
        the norms and whether the output's target is 1.
    """
    num_classes = cls_score.shape[-1]
    classes = torch.arange(num_classes, device=labels.device)
    positive = labels[:, None] == classes
    g = (cls_score.detach().float().sigmoid() - positive.float()).abs()
    valid = (label_weights > 0)[:, None].expand_as(g)
    return g[valid], positive[valid]


def softmax_classification_g(cls_score: Tensor, labels: Tensor,
                             label_weights: Tensor) -> Tuple[Tensor, Tensor]:
    """``g = 1 - p_y`` of every valid anchor of a softmax classifier.

    Args:
        cls_score: (n, C + 1) logits, background last.
        labels: (n,) class indices in [0, C], ``C`` for background.
        label_weights: (n,) weights; anchors with weight 0 are left out.
    Returns:
        ``(g, positive)``, both (m,) for the m valid anchors; ``positive``
        marks the foreground anchors.
    """
    prob = cls_score.detach().float().softmax(-1)
    g = 1 - prob.gather(1, labels[:, None].long()).squeeze(1)
    valid = label_weights > 0
    positive = labels < cls_score.shape[-1] - 1
    return g[valid], positive[valid]


def asl1_g(diff: Tensor, mu: float) -> Tensor:
    """GHM-R's gradient norm ``|d| / sqrt(d^2 + mu^2)``, ``diff``'s shape."""
    diff = diff.float()
    return diff.abs() / torch.sqrt(diff * diff + mu * mu)


def smooth_l1_gradient_norm(diff: Tensor, beta: float) -> Tensor:
    """``min(|d| / beta, 1)`` (1 everywhere for ``beta == 0``, i.e. L1)."""
    if beta <= 0:
        return torch.ones_like(diff, dtype=torch.float32)
    return (diff.float().abs() / beta).clamp(max=1.0)


def focal_gradient_norm(g: Tensor, gamma: float,
                        alpha_t: Optional[Tensor] = None) -> Tensor:
    """Focal Loss's gradient norm with respect to the logit, from ``g``.

    ``alpha_t * g**gamma * (g - gamma * (1 - g) * ln(1 - g))``; ``alpha_t``
    of ``g``'s shape (alpha for positives, 1 - alpha for negatives) or None
    for 1. Finite at ``g = 1`` (``(1 - g) ln(1 - g) -> 0``).
    """
    g = g.float()
    norm = g.pow(gamma) * (g - gamma * torch.xlogy(1 - g, 1 - g))
    return norm if alpha_t is None else alpha_t * norm


def focal_alpha_t(positive: Tensor,
                  alpha: Optional[float]) -> Optional[Tensor]:
    """``alpha`` for positive targets, ``1 - alpha`` for negative ones (None
    when ``alpha`` is None: no balancing)."""
    if alpha is None:
        return None
    return torch.where(positive, alpha, 1 - alpha).float()
