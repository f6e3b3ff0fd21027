r"""The GHM paper's figure 1 as numbers: the distribution of the gradient
norm ``g`` and each loss's total gradient contribution per value of ``g``.

The range [0, 1] of ``g`` is cut into ``bins`` equal regions (the last one
closed). For each region the histogram holds the number of examples and,
per loss, the sum of the examples' gradient norms with respect to the
output (:mod:`imbalance_plugin.diagnostics.gradient_norms`).

GHM's harmonising weight of an example in region :math:`k` of the loss's own
``ghm_bins`` regions is :math:`\beta_k = N / (n R_k)` over the whole sample
(:math:`N` examples, :math:`R_k` of them in region :math:`k`, :math:`n`
non-empty regions): the estimator of
:mod:`imbalance_plugin.functional.gradient_density` with momentum 0, as if
the sample were one batch. GHM-C's gradient norm is :math:`\beta g`, GHM-R's
:math:`\beta g` with the Authentic Smooth L1 ``g``.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional

import torch
from torch import Tensor

from ..functional.gradient_density import harmonizing_weights, region_of
from .gradient_norms import (
    asl1_g,
    focal_alpha_t,
    focal_gradient_norm,
    smooth_l1_gradient_norm,
)


@dataclass
class GradientHistogram:
    """Counts and gradient contributions of ``bins`` regions of ``g``.

    Attributes:
        edges: (bins + 1,) region edges ``k / bins``.
        counts: (bins,) number of examples per region.
        contributions: loss name -> (bins,) sum of the examples' gradient
            norms per region.
    """
    edges: Tensor
    counts: Tensor
    contributions: Dict[str, Tensor] = field(default_factory=dict)

    @property
    def bins(self) -> int:
        return self.counts.numel()

    @property
    def fractions(self) -> Tensor:
        """(bins,) share of the examples in each region."""
        return self.counts / self.counts.sum().clamp_min(1)


def region_edges(bins: int) -> Tensor:
    """(bins + 1,) edges ``k / bins`` of the regions, float32."""
    return torch.arange(bins + 1, dtype=torch.float32) / bins


def region_index(g: Tensor, bins: int) -> Tensor:
    """(m,) region ``k`` with ``k / bins <= g < (k + 1) / bins`` (``g = 1``
    in the last region), int64; GHM's own rule
    (:func:`~imbalance_plugin.functional.gradient_density.region_of`)."""
    return region_of(g.float(), bins).long()


def harmonizing_weight(g: Tensor, ghm_bins: int) -> Tensor:
    """(m,) GHM's :math:`\\beta = N / (n R_k)` of every example, ``ghm_bins``
    regions, density of this sample (momentum 0)."""
    index = region_index(g, ghm_bins)
    counts = torch.bincount(index, minlength=ghm_bins).float()
    table, _, _ = harmonizing_weights(counts, torch.zeros_like(counts), 0.0)
    return table[index]


def gradient_histogram(g: Tensor, bins: int,
                       norms: Dict[str, Tensor]) -> GradientHistogram:
    """Counts of ``g`` and per-region sums of each loss's gradient norms.

    Args:
        g: (m,) gradient norms of the m examples, in [0, 1].
        bins: number of regions, >= 1.
        norms: loss name -> (m,) gradient norm of each example under that
            loss.
    """
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f'bins must be an integer >= 1, got {bins!r}')
    g = g.reshape(-1)
    index = region_index(g, bins)
    counts = torch.bincount(index, minlength=bins).float()
    contributions = {
        name: torch.bincount(index, weights=norm.reshape(-1).double(),
                             minlength=bins).float()
        for name, norm in norms.items()
    }
    return GradientHistogram(region_edges(bins), counts, contributions)


def classification_histogram(g: Tensor,
                             positive: Tensor,
                             bins: int = 30,
                             ghm_bins: int = 30,
                             gamma: float = 2.0,
                             alpha: Optional[float] = 0.25
                             ) -> GradientHistogram:
    """Figure 1 of the GHM paper: CE, Focal Loss and GHM-C per region of g.

    Args:
        g: (m,) ``|p - p*|`` of the m valid classification outputs.
        positive: (m,) bool, target 1 (for Focal Loss's ``alpha_t``).
        bins: regions of the histogram.
        ghm_bins: GHM-C's regions (its ``bins`` argument).
        gamma, alpha: Focal Loss's parameters (alpha None: no balancing).
    Returns:
        contributions ``'ce'``, ``'focal'`` and ``'ghm_c'``.
    """
    g = g.reshape(-1).float()
    norms = dict(
        ce=g,
        focal=focal_gradient_norm(g, gamma,
                                  focal_alpha_t(positive.reshape(-1), alpha)),
        ghm_c=harmonizing_weight(g, ghm_bins) * g)
    return gradient_histogram(g, bins, norms)


def regression_histogram(diff: Tensor,
                         bins: int = 30,
                         ghm_bins: int = 10,
                         mu: float = 0.02,
                         beta: float = 0.11) -> GradientHistogram:
    """Smooth L1, Authentic Smooth L1 and GHM-R per region of GHM-R's g.

    Args:
        diff: (m,) residuals ``d = prediction - target`` of the positives'
            valid regression coordinates.
        bins: regions of the histogram.
        ghm_bins: GHM-R's regions.
        mu: Authentic Smooth L1's parameter (GHM-R's ``mu``).
        beta: smooth L1's parameter (0: L1).
    Returns:
        contributions ``'smooth_l1'``, ``'asl1'`` and ``'ghm_r'``; counts of
        ``g = |d| / sqrt(d^2 + mu^2)``.
    """
    diff = diff.reshape(-1).float()
    g = asl1_g(diff, mu)
    norms = dict(
        smooth_l1=smooth_l1_gradient_norm(diff, beta),
        asl1=g,
        ghm_r=harmonizing_weight(g, ghm_bins) * g)
    return gradient_histogram(g, bins, norms)
