"""Decoding of (dx, dy, dw, dh) box deltas, lean and bit for bit mmdet's.

The standard R-CNN parametrisation (Girshick et al., "Rich feature
hierarchies", CVPR 2014), as mmdet's ``DeltaXYWHBBoxCoder`` applies it:
with a prior's centre ``(px, py)`` and size ``(pw, ph)`` and the deltas
denormalised as ``d * stds + means``,

    gx = px + pw * dx,   gw = pw * exp(clamp(dw, -r, r)),   r = |log(clip)|

and likewise for y and h; the box is ``(gx - gw / 2, gy - gh / 2, gx + gw / 2,
gy + gh / 2)``. The float operations are done in the coder's order, so the
boxes are bit for bit the coder's, with fewer operations.
"""

import numpy as np
import torch


def decode_delta_xywh(priors, deltas, means=(0., 0., 0., 0.),
                      stds=(1., 1., 1., 1.), wh_ratio_clip=16 / 1000,
                      add_ctr_clamp=False, ctr_clamp=32):
    """Boxes from priors and deltas, without clipping to an image.

    Args:
        priors (Tensor): (n, 4) prior boxes (x1, y1, x2, y2), float32 or
            float64.
        deltas (Tensor): (n, 4) deltas (dx, dy, dw, dh), the priors' dtype.
        means, stds (sequence of 4 floats): the coder's normalisation.
        wh_ratio_clip (float): largest change of size, ``exp(|log(clip)|)``.
        add_ctr_clamp (bool): clamp the centre shift to ``ctr_clamp`` pixels
            and only the upper end of ``dw, dh``.

    Returns:
        Tensor: (n, 4) decoded boxes in the priors' dtype (the transpose of
        a contiguous (4, n) tensor).
    """
    # Worked on as (4, n) rows, not as (n, 2) column pairs of an (n, 4)
    # tensor (why: docs/experiments.md, PISA speed).
    low, high = priors.t().contiguous().reshape(2, 2, -1)
    denorm = deltas.t() * deltas.new_tensor(stds)[:, None]
    denorm += deltas.new_tensor(means)[:, None]
    size = high - low
    centre = low + high
    centre *= 0.5
    shift = size * denorm[:2]
    # numpy's log, as the coder takes it: numpy 1.x's differs from
    # math.log in the last bit for the default clip.
    max_ratio = abs(float(np.log(wh_ratio_clip)))
    if add_ctr_clamp:
        shift = shift.clamp(-ctr_clamp, ctr_clamp)
        log_scale = denorm[2:].clamp(max=max_ratio)
    else:
        log_scale = denorm[2:].clamp(-max_ratio, max_ratio)
    centre += shift
    half = size * log_scale.exp()
    half *= 0.5
    return torch.cat([centre - half, centre + half]).t()
