r"""Gradient density of GHM (Li et al., "Gradient Harmonized Single-stage
Detector", AAAI 2019), shared by GHM-C and GHM-R.

The gradient norm :math:`g \in [0, 1]` of each valid element falls in one of
``bins`` unit regions :math:`[k/M, (k+1)/M)` (the last one closed). The
density of a region is its element count, smoothed over iterations by an
exponential moving average updated only for non-empty regions (the paper's
and mmdet's rule):

.. math::
    S_k \leftarrow \mu S_k + (1 - \mu)\, R_k \quad \text{if } R_k > 0

and every element of region :math:`k` receives the harmonising weight

.. math::
    \beta = \frac{N}{n \, S_k}

with :math:`N` the number of valid elements and :math:`n` the number of
non-empty regions (with momentum 0, :math:`S_k = R_k`).

Distributed: with ``all_reduce=True`` (the loss modules' default), when
``torch.distributed`` is initialised with more than one process, the counts
:math:`R_k` (and hence :math:`N`) are summed over the processes before the
update, so every process holds the density of the global batch and the same
moving average. Nothing here loops over bins or synchronises with the host:
bin indices come from ``bucketize``, counts from one ``bincount``.
"""
from typing import Tuple

import torch
import torch.distributed as dist
from torch import Tensor


def bin_edges(bins: int, last_edge: float) -> Tensor:
    """Edges ``k / bins`` of the unit regions, float32 of shape (bins + 1,).

    ``last_edge`` replaces the upper edge 1 (GHM-C uses :math:`1 + 10^{-6}`,
    GHM-R a large value), so that :math:`g = 1` falls in the last region.
    """
    edges = torch.arange(bins + 1, dtype=torch.float32) / bins
    edges[-1] = last_edge
    return edges


def index_dtype(bins: int) -> torch.dtype:
    """The smallest integer type holding the indices 0..bins."""
    return torch.uint8 if bins < 255 else torch.int32


def bin_index(g: Tensor, valid: Tensor, edges: Tensor) -> Tensor:
    """Region of each element: ``k`` with ``edges[k] <= g < edges[k+1]``.

    ``floor(g * bins)`` is within one of the region; comparing ``g`` with
    the edges on either side makes the result exactly that of comparing
    with ``edges`` (as ``torch.bucketize`` would, but fused and branch-free).

    Args:
        g: gradient norms, any shape, in [0, 1].
        valid: bool, broadcastable to ``g``; invalid elements get the extra
            index ``bins`` (so that they are counted nowhere).
        edges: (bins + 1,) from :func:`bin_edges`.
    Returns:
        indices of ``g``'s shape in :func:`index_dtype` of ``bins``.
    """
    bins = edges.shape[0] - 1
    edges = edges.to(g.dtype)
    g = torch.nan_to_num(g, nan=0.0).clamp(0, 1)
    guess = (g * bins).floor().clamp(0, bins - 1).long()
    index = (guess - (g < edges[guess]).long()
             + (g >= edges[guess + 1]).long())
    return torch.where(valid, index, bins).to(index_dtype(bins))


@torch.library.custom_op('imbalance_plugin::bin_counts', mutates_args=())
def bin_counts(index: Tensor, bins: int) -> Tensor:
    """Number of elements per region, float32 (bins,); index ``bins`` is
    not counted. One ``bincount``, traceable by ``torch.compile``."""
    counts = torch.bincount(index.reshape(-1), minlength=bins + 1)
    return counts[:bins].to(torch.float32)


@bin_counts.register_fake
def _(index, bins):
    return index.new_empty((bins,), dtype=torch.float32)


def world_size() -> int:
    """Number of processes of the default group (1 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def global_counts(counts: Tensor, all_reduce: bool) -> Tuple[Tensor, int]:
    """Sums ``counts`` over the processes when asked and distributed.

    Returns the (possibly summed) counts and the number of processes that
    contributed to them.
    """
    processes = world_size() if all_reduce else 1
    if processes > 1:
        counts = counts.clone()
        dist.all_reduce(counts, op=dist.ReduceOp.SUM)
    return counts, processes


def harmonizing_weights(counts: Tensor, acc_sum: Tensor,
                        momentum: float) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Per-region weights from this batch's counts and the moving average.

    Args:
        counts: :math:`R_k`, float32 (bins,).
        acc_sum: :math:`S_k` before this batch, (bins,).
        momentum: :math:`\mu \in [0, 1)`.
    Returns:
        ``(table, new_acc_sum, total)``: ``table`` (bins + 1,) holds
        :math:`\beta` per region and 0 at the extra index of invalid elements,
        ``new_acc_sum`` the updated :math:`S`, ``total`` :math:`\max(N, 1)`.
    """
    non_empty = counts > 0
    acc = acc_sum.to(torch.float32)
    new_acc = torch.where(non_empty, momentum * acc + (1 - momentum) * counts,
                          acc)
    total = counts.sum().clamp_min(1.0)
    n_non_empty = non_empty.sum().clamp_min(1).to(torch.float32)
    beta = torch.where(non_empty, total / (n_non_empty * new_acc.clamp_min(
        torch.finfo(torch.float32).tiny)), 0.0)
    table = torch.cat([beta, beta.new_zeros(1)])
    return table, new_acc.to(acc_sum.dtype), total
