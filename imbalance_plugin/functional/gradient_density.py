r"""Gradient density of GHM (Li et al., "Gradient Harmonized Single-stage
Detector", AAAI 2019), shared by GHM-C and GHM-R.

The gradient norm :math:`g \in [0, 1]` of each valid element falls in one of
:math:`M` (``bins``) unit regions :math:`[k/M, (k+1)/M)`, the last one
closed at 1 (mmdet's edges, float32 :math:`k/M`, with its last edge moved
above 1). The density of a region is its element count :math:`R_k`,
smoothed over iterations by an exponential moving average that is updated
only for non-empty regions (the paper's and mmdet's rule):

.. math::
    S_k \leftarrow \mu S_k + (1 - \mu)\, R_k \quad \text{if } R_k > 0

and every element of region :math:`k` receives the harmonising weight

.. math::
    \beta = \frac{N}{n \, S_k}

with :math:`N` the number of valid elements and :math:`n` the number of
non-empty regions (with momentum 0, :math:`S_k = R_k`).

Distributed: with ``all_reduce=True`` (the loss modules' default), when
``torch.distributed`` is initialised with more than one process, the counts
:math:`R_k` (and with them :math:`N`) are summed over the processes before
the update, so every process holds the density of the global batch and the
same moving average.

Nothing here loops over regions or waits for the device: the region of an
element is arithmetic on :math:`g` (no search), the counts are one
``bincount`` of fixed size. Elements are counted into ``LANES`` interleaved
copies of the histogram (element ``i`` into copy ``i mod LANES``), summed
afterwards: most elements of a detection batch share one region (easy
negatives), and successive increments of a single counter would otherwise
serialise. An element's *slot* is its region (or ``bins`` when invalid)
plus ``(bins + 1) * lane``.
"""
from typing import Tuple, Union

import torch
import torch.distributed as dist
from torch import Tensor

from ..utils.torch_compat import custom_op

LANES = 8  # a power of two


def slot_dtype(bins: int) -> torch.dtype:
    """The smallest integer type holding every slot of ``bins`` regions."""
    return torch.uint8 if LANES * (bins + 1) <= 256 else torch.int32


def region_of(g: Tensor, bins: int) -> Tensor:
    """Region ``k`` with ``k / bins <= g < (k + 1) / bins`` (float, exact).

    ``floor(g * bins)`` can be one off near an edge after rounding; it is
    corrected by comparing ``g`` with the float32 edges ``k / bins`` (the
    values of ``torch.arange(bins + 1).float() / bins``), so the result
    is that of comparing with mmdet's edge tensor. ``g >= 1`` goes to the
    last region, NaN to the first.
    """
    # NaN (and anything <= 0) to 0 with one comparison
    g = torch.where(g > 0, g, 0.0).clamp(max=1.0)
    guess = torch.floor(g * bins).clamp(max=bins - 1)
    below = g < guess / bins
    above = (guess < bins - 1) & (g >= (guess + 1) / bins)
    return guess - below.to(g.dtype) + above.to(g.dtype)


def bin_slots(g: Tensor, valid: Tensor, bins: int) -> Tensor:
    """Slot of each element: region, or ``bins`` if invalid, plus lane.

    Args:
        g: gradient norms in [0, 1], any shape.
        valid: bool, broadcastable to ``g``.
        bins: number of regions :math:`M`.
    Returns:
        slots of ``g``'s shape, :func:`slot_dtype`.
    """
    dtype = slot_dtype(bins)
    region = torch.where(valid, region_of(g, bins), float(bins)).to(dtype)
    # integer arithmetic from here: a compiled graph then keeps the slots as
    # they are counted (one byte each) for the second pass
    return region + _lanes(g, dtype) * (bins + 1)


def _lanes(like: Tensor, dtype: torch.dtype) -> Tensor:
    position = torch.arange(like.numel(), device=like.device).view(like.shape)
    return torch.bitwise_and(position, LANES - 1).to(dtype)


def slot_region(slots: Tensor, bins: int) -> Tensor:
    """The region of each slot (``bins`` for invalid elements), int64, by
    subtraction (a modulo would cost an integer division per element)."""
    return (slots - _lanes(slots, slots.dtype) * (bins + 1)).long()


def _bin_counts_shape(slots, bins):
    return slots.new_empty((bins,), dtype=torch.float32)


@custom_op('imbalance_plugin::bin_counts', _bin_counts_shape)
def bin_counts(slots: Tensor, bins: int) -> Tensor:
    """Valid elements per region, float32 (bins,), from :func:`bin_slots`.

    One ``bincount``; a custom op (where torch has them) so that
    ``torch.compile`` keeps it whole (its output size does not depend on
    the data).
    """
    counts = torch.bincount(slots.reshape(-1), minlength=LANES * (bins + 1))
    return counts.view(LANES, bins + 1)[:, :bins].sum(0).to(torch.float32)


def world_size() -> int:
    """Number of processes of the default group (1 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def global_counts(counts: Tensor, all_reduce: bool) -> Tuple[Tensor, int]:
    """Sums ``counts`` over the processes when asked and distributed.

    Returns the (possibly summed) counts and the number of processes whose
    elements they count.
    """
    processes = world_size() if all_reduce else 1
    if processes > 1:
        counts = counts.clone()
        dist.all_reduce(counts, op=dist.ReduceOp.SUM)
    return counts, processes


def harmonizing_weights(counts: Tensor, acc_sum: Tensor,
                        momentum: Union[float, Tensor]
                        ) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Per-region weights from this batch's counts and the moving average.

    Args:
        counts: :math:`R_k`, float32 (bins,).
        acc_sum: :math:`S_k` before this batch, (bins,).
        momentum: :math:`\mu \in [0, 1)`.
    Returns:
        ``(table, new_acc_sum, total)``: ``table`` (bins + 1,) holds
        :math:`\beta` per region and 0 at the index ``bins`` of invalid
        elements, ``new_acc_sum`` the updated :math:`S`, ``total``
        :math:`\max(N, 1)`.
    """
    non_empty = counts > 0
    acc = acc_sum.to(torch.float32)
    new_acc = torch.where(non_empty, momentum * acc + (1 - momentum) * counts,
                          acc)
    total = counts.sum().clamp_min(1.0)
    n_non_empty = non_empty.sum().clamp_min(1).to(torch.float32)
    density = n_non_empty * new_acc.clamp_min(torch.finfo(torch.float32).tiny)
    beta = torch.where(non_empty, total / density, 0.0)
    table = torch.cat([beta, beta.new_zeros(1)])
    return table, new_acc.to(acc_sum.dtype), total
