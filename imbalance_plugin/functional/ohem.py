r"""Online hard example mining over dense anchors (OHEM for one-stage
detectors, Lin et al., ICCV 2017, Section 5.1 and Table 1d).

Each image's anchors are scored by their classification loss
:math:`l_a = \sum_c \ell(x_{ac}, y_{ac})`; anchors whose label weight is 0
(ignored by the assigner) are never scored. In order of decreasing loss,
greedy non-maximum suppression at ``nms_thr`` over the anchors' boxes drops
every anchor whose IoU with an earlier kept anchor exceeds ``nms_thr``, and
the first ``num`` kept anchors form the image's minibatch (Shrivastava et
al., CVPR 2016, applied to anchors instead of RoIs). Without NMS
(``nms_thr=None``) this is plain top-``num`` loss mining.

With ``neg_pos_ratio = r`` (the paper's "OHEM 1:3" is r = 3) the minibatch
takes the ``floor(num / (1 + r))`` highest-loss kept positives at most and
fills the rest up to ``num`` with the highest-loss kept negatives. An image
with fewer positives gets more negatives (the batch stays ``num``); one with
too few negatives gets all of them and a smaller batch (positives never take
a negative's place, so their share never exceeds ``1 / (1 + r)``).

Ties in the loss are broken by the lower anchor index. All images are
processed at once; nothing here loops over images or anchors. The only host
sync is inside the NMS kernel (its output length is data-dependent): one
call per iteration for the whole batch, none without NMS.

The NMS runs over the ``pool_size`` highest-loss anchors of each image
(``POOL_PER_SELECTED * num``), not all of them (over a hundred thousand
per COCO image), as greedy NMS evaluates about (kept anchors) x (pool)
IoUs on a CPU. Greedy NMS decides each anchor from the higher-loss anchors
only, so the result equals NMS over all anchors whenever an image's pool
keeps enough anchors to fill its minibatch (positives and negatives, with
a ratio). It always does when no anchor overlaps more than
``POOL_PER_SELECTED - 1`` others above ``nms_thr``: RetinaNet's anchors at
0.7 (at most 4 others). At 0.5 an anchor can overlap up to 52 others, so a
pool made only of tight clusters keeps fewer than ``num``; the image then
trains on the anchors kept. IoUs are computed in float32 (mmcv's kernel):
a pair within rounding of ``nms_thr`` may go either way.
"""
from typing import Optional

import torch
from mmcv.ops import nms
from torch import Tensor

#: Pool anchors per minibatch anchor. RetinaNet's anchors (3 scales x 3
#: aspect ratios per position, strides 8-128) overlap at most 4 others by
#: IoU > 0.7 and 52 by IoU > 0.5 (tests/functional/test_ohem.py).
POOL_PER_SELECTED = 8


def pool_size(num: int, num_anchors: int, nms_thr: Optional[float]) -> int:
    """Anchors per image that enter the NMS: all of them when there are at
    most ``POOL_PER_SELECTED * num``, else that many; all without NMS."""
    if nms_thr is None:
        return num_anchors
    return min(POOL_PER_SELECTED * num, num_anchors)


def hardest_first(loss: Tensor, valid: Tensor, k: int) -> Tensor:
    """Indices of the ``k`` highest-loss anchors of each image, hardest
    first, ties by the lower index; invalid anchors come last.

    Args:
        loss (Tensor): (N, A) loss per anchor.
        valid (Tensor): (N, A) bool, anchors that may be selected.
        k (int): anchors to return per image, <= A.

    Returns:
        Tensor: (N, k) int64 anchor indices.
    """
    score = loss.masked_fill(~valid, float('-inf'))
    order = torch.sort(score, dim=1, descending=True, stable=True).indices
    return order[:, :k]


def batched_greedy_nms(boxes: Tensor, iou_thr: float) -> Tensor:
    """Greedy NMS within each image, in the given order, all images in one
    kernel call (each image shifted by its own offset, so images never
    suppress each other).

    Args:
        boxes (Tensor): (N, K, 4) boxes (x1, y1, x2, y2), each image's in
            priority order.
        iou_thr (float): a box is dropped when its IoU with an earlier kept
            box of its image exceeds this.

    Returns:
        Tensor: (N, K) bool, the kept boxes.
    """
    num_imgs, k = boxes.shape[:2]
    if num_imgs * k == 0:
        return boxes.new_zeros(num_imgs, k, dtype=torch.bool)
    boxes = boxes.float()
    low = boxes.amin()
    span = boxes.amax() - low + 1
    offsets = torch.arange(num_imgs, device=boxes.device) * span
    shifted = boxes - low + offsets[:, None, None]
    # Decreasing scores encode the order; mmcv's kernel sorts by them.
    rank = torch.arange(k, 0, -1, device=boxes.device, dtype=torch.float32)
    _, keep = nms(shifted.reshape(-1, 4),
                  rank.expand(num_imgs, k).reshape(-1), iou_thr)
    kept = torch.zeros(num_imgs * k, dtype=torch.bool, device=boxes.device)
    return kept.index_fill_(0, keep, True).view(num_imgs, k)


def fill_minibatch(candidate: Tensor, positive: Tensor, num: int,
                   neg_pos_ratio: Optional[float]) -> Tensor:
    """The minibatch from each image's candidates, taken in order.

    Without a ratio the first ``num`` candidates; with ``neg_pos_ratio = r``
    the first ``floor(num / (1 + r))`` positive candidates at most and then
    negative candidates up to ``num`` in all.

    Args:
        candidate (Tensor): (N, K) bool, in priority order.
        positive (Tensor): (N, K) bool, positive anchors.
        num (int): minibatch size per image.
        neg_pos_ratio (float, optional): negatives per positive.

    Returns:
        Tensor: (N, K) bool, the selected anchors.
    """
    if neg_pos_ratio is None:
        return candidate & (candidate.cumsum(1) <= num)
    pos = candidate & positive
    pos = pos & (pos.cumsum(1) <= max_positives(num, neg_pos_ratio))
    neg = candidate & ~positive
    room = num - pos.sum(1, keepdim=True)
    return pos | (neg & (neg.cumsum(1) <= room))


def max_positives(num: int, neg_pos_ratio: float) -> int:
    """``floor(num / (1 + neg_pos_ratio))``, the positives a minibatch of
    ``num`` holds at most."""
    return int(num // (1 + neg_pos_ratio))


def ohem_select(loss: Tensor,
                boxes: Tensor,
                valid: Tensor,
                positive: Tensor,
                num: int,
                nms_thr: Optional[float] = 0.5,
                neg_pos_ratio: Optional[float] = None) -> Tensor:
    """The anchors OHEM trains on (see the module docstring).

    No gradient flows through the selection; call it on detached losses.

    Args:
        loss (Tensor): (N, A) classification loss per anchor.
        boxes (Tensor): (N, A, 4) anchor boxes (x1, y1, x2, y2).
        valid (Tensor): (N, A) bool, anchors with label weight > 0.
        positive (Tensor): (N, A) bool, anchors assigned to an object.
        num (int): minibatch size per image, > 0.
        nms_thr (float, optional): NMS IoU threshold in (0, 1]; None for
            no NMS.
        neg_pos_ratio (float, optional): negatives per positive, >= 0;
            None for no ratio.

    Returns:
        Tensor: (N, A) bool, the selected anchors (at most ``num`` per
        image).
    """
    with torch.no_grad():
        num_imgs, num_anchors = loss.shape
        order = hardest_first(loss, valid,
                              pool_size(num, num_anchors, nms_thr))
        candidate = valid.gather(1, order)
        if nms_thr is not None:
            pooled = boxes.gather(1, order[..., None].expand(-1, -1, 4))
            candidate &= batched_greedy_nms(pooled, nms_thr)
        selected = fill_minibatch(candidate, positive.gather(1, order), num,
                                  neg_pos_ratio)
        mask = torch.zeros_like(valid)
        return mask.scatter_(1, order, selected)
