"""Decoding of (dx, dy, dw, dh) box deltas, lean and bit for bit mmdet's.

The standard R-CNN parametrisation (Girshick et al., "Rich feature
hierarchies", CVPR 2014), as mmdet's ``DeltaXYWHBBoxCoder`` applies it:
with a prior's centre ``(px, py)`` and size ``(pw, ph)`` and the deltas
denormalised as ``d * stds + means``,

    gx = px + pw * dx,   gw = pw * exp(clamp(dw, -r, r)),   r = |log(clip)|

and likewise for y and h; the box is ``(gx - gw / 2, gy - gh / 2, gx + gw / 2,
gy + gh / 2)``. The float operations are done in the coder's order and the
exponential by torch, so the boxes are bit for bit the coder's, in about half
the operations. Tensors, or numpy arrays for the few thousand boxes of one
image on the host (numpy costs about a microsecond per operation where torch
costs ten on a CPU).
"""
import math

import numpy as np
import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.structures.bbox import get_box_tensor


def _rows(array):
    """The contiguous (4, n) transpose of an (n, 4) array or tensor."""
    if isinstance(array, np.ndarray):
        return np.ascontiguousarray(array.T)
    return array.t().contiguous()


def _column(values, like):
    """(4, 1) array or tensor of ``values`` in ``like``'s dtype."""
    if isinstance(like, np.ndarray):
        return np.asarray(values, like.dtype)[:, None]
    return like.new_tensor(values)[:, None]


def _exp(array):
    if isinstance(array, np.ndarray):
        return torch.from_numpy(array).exp_().numpy()
    return array.exp()


def decode_delta_xywh(priors, deltas, means=(0., 0., 0., 0.),
                      stds=(1., 1., 1., 1.), wh_ratio_clip=16 / 1000,
                      add_ctr_clamp=False, ctr_clamp=32):
    """Boxes from priors and deltas, without clipping to an image.

    Args:
        priors (Tensor | ndarray): (n, 4) prior boxes (x1, y1, x2, y2),
            float32 or float64.
        deltas (Tensor | ndarray): (n, 4) deltas (dx, dy, dw, dh), the
            priors' kind and dtype.
        means, stds (sequence of 4 floats): the coder's normalisation.
        wh_ratio_clip (float): largest change of size, ``exp(|log(clip)|)``.
        add_ctr_clamp (bool): clamp the centre shift to ``ctr_clamp`` pixels
            and only the upper end of ``dw, dh``.

    Returns:
        Tensor | ndarray: (n, 4) decoded boxes, the priors' kind and dtype
        (the transpose of a contiguous (4, n) array).
    """
    # Worked on as (4, n) rows: several times faster than the (n, 2) column
    # pairs of an (n, 4) array.
    low, high = _rows(priors).reshape(2, 2, -1)
    denorm = _rows(deltas) * _column(stds, deltas)
    denorm += _column(means, deltas)
    size = high - low
    centre = low + high
    centre *= 0.5
    shift = size * denorm[:2]
    max_ratio = abs(math.log(wh_ratio_clip))
    if add_ctr_clamp:
        shift = shift.clip(-ctr_clamp, ctr_clamp)
        log_scale = denorm[2:].clip(max=max_ratio)
    else:
        log_scale = denorm[2:].clip(-max_ratio, max_ratio)
    centre += shift
    half = size * _exp(log_scale)
    half *= 0.5
    corners = [centre - half, centre + half]
    if isinstance(priors, np.ndarray):
        return np.concatenate(corners).T
    return torch.cat(corners).t()


def decode(coder, priors, deltas):
    """``coder.decode(priors, deltas)`` as a box array of the inputs' kind:
    :func:`decode_delta_xywh` for mmdet's ``DeltaXYWHBBoxCoder``, the coder
    itself (through torch) for any other."""
    if type(coder) is DeltaXYWHBBoxCoder:
        return decode_delta_xywh(priors, deltas, coder.means, coder.stds,
                                 add_ctr_clamp=coder.add_ctr_clamp,
                                 ctr_clamp=coder.ctr_clamp)
    if isinstance(priors, np.ndarray):
        return get_box_tensor(coder.decode(torch.from_numpy(priors),
                                           torch.from_numpy(deltas))).numpy()
    return get_box_tensor(coder.decode(priors, deltas))
