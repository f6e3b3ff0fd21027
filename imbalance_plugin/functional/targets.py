"""Class-index targets as one-hot rows, built on the fly inside the kernels."""
import torch
from torch import Tensor


def one_hot(labels: Tensor, num_channels: int, dtype: torch.dtype) -> Tensor:
    """One-hot rows of shape (N, num_channels) from labels of shape (N,).

    A label outside ``[0, num_channels)`` gives a row of zeros: with sigmoid
    classifiers the background index ``num_channels`` is an all-negative
    row, exactly as mmdet expands it. Written as a comparison with
    ``arange`` (no scatter), so that a compiled kernel fuses it away.
    """
    channels = torch.arange(num_channels, device=labels.device)
    return (labels.unsqueeze(-1) == channels).to(dtype)


def dense_target(target: Tensor, x: Tensor) -> Tensor:
    """Targets of ``x``'s shape and dtype: one-hot rows from class indices
    (one dimension fewer than ``x``), or ``target`` itself cast."""
    if target.dim() == x.dim():
        return target.to(x.dtype)
    return one_hot(target, x.shape[-1], x.dtype)
