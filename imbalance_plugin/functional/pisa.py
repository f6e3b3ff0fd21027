"""Prime Sample Attention (Cao et al., CVPR 2020): the tensor math of PISA.

PISA ranks samples by a hierarchical local rank (HLR) and turns the rank into
a loss weight with the non-linear map ``(bias + (1 - bias) * u) ** k``:

* IoU-HLR / ISR-P (positives): inside each ground truth's group, rank the
  positives by the IoU of their decoded prediction with the target; then rank
  the samples of one class by (local rank, IoU). ``u = (m - r) / m`` where
  ``r`` is the class-wise rank and ``m`` the size of the largest class.
* Score-HLR / ISR-N (negatives): group negatives by NMS-match of their
  decoded boxes, rank inside each group by score, then across groups by
  (local rank, score). The top ones get ``u = (U - r) / U``.
* CARL: the regression loss of each positive is weighted by the map of its
  classification score, the weights normalised to average 1.

Every function works on all samples of a batch at once: sorts and segment
operations, no Python loop over classes, ground truths or groups. Keys are
built exactly like mmdet 3.3.0's (``iou + (m - r)`` and ``(n - r) + score`` in
float32), so equal keys break ties the same way (stable sorts, by index).
"""
import torch


def power_map(u, k, bias):
    """``(bias + (1 - bias) * u) ** k``, PISA's importance map, elementwise.

    ``k >= 0`` and ``bias`` in [0, 1) are checked where the settings enter
    (:class:`~imbalance_plugin.heads.pisa_common.PowerMap`, the sampler).
    """
    if bias:
        u = bias + (1 - bias) * u
    return u.pow(k)


def descending_code(keys):
    """int64 codes in [0, 2 ** 32) that sort ascending as ``keys`` descending.

    The bits of a float32 read as an integer order like the float once the
    negative ones are mirrored; -0.0 is first turned into +0.0 so that equal
    floats get equal codes. Exact for float32, float16 and bfloat16 keys.

    Args:
        keys (Tensor): (n,) floating keys, no NaN.

    Returns:
        Tensor: (n,) int64.
    """
    bits = (keys.float() + 0.).view(torch.int32).long()
    ordered = bits ^ ((bits >> 31) & 0x7fffffff)
    return (2**31 - 1) - ordered


def segment_rank(keys, segments):
    """0-based rank of every element inside its segment, by key descending.

    Equal keys are ranked by index. One stable sort of the int64 key
    ``segment * 2 ** 32 + descending_code(key)`` orders by segment, then key;
    the rank is the position minus the position of the segment's first
    element (a running maximum of the positions where the segment changes).

    Args:
        keys (Tensor): (n,) ranking keys (float64 keys are sorted in two
            passes, the code holds 32 bits).
        segments (Tensor): (n,) integer segment id of each element, in
            [0, 2 ** 31).

    Returns:
        Tensor: (n,) int64 rank of each element inside its segment.
    """
    n = keys.numel()
    if n == 0:
        return segments.new_zeros(0, dtype=torch.long)
    segments = segments.long()
    if keys.dtype == torch.float64:
        order = torch.sort(keys, descending=True, stable=True).indices
        order = order[torch.sort(segments[order], stable=True).indices]
        sorted_segments = segments[order]
    else:
        codes, order = torch.sort((segments << 32) | descending_code(keys),
                                  stable=True)
        sorted_segments = codes >> 32
    position = torch.arange(n, device=keys.device)
    is_first = sorted_segments.diff(prepend=sorted_segments[:1] - 1) != 0
    first = torch.cummax(position * is_first, 0).values
    rank = torch.empty_like(order)
    rank[order] = position - first
    return rank


def aligned_box_iou(boxes1, boxes2, eps=1e-6):
    """IoU of row-aligned (x1, y1, x2, y2) boxes, shapes (n, 4) -> (n,).

    ``inter / max(area1 + area2 - inter, eps)``, the float arithmetic of
    mmdet's ``bbox_overlaps(..., is_aligned=True)``.
    """
    lt = torch.max(boxes1[:, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    union = torch.max(area1 + area2 - inter, inter.new_tensor([eps]))
    return inter / union


def iou_hlr(ious, gt_groups, labels):
    """IoU hierarchical local rank of positives.

    First the local rank ``l``: the rank of the IoU inside the positive's
    ground-truth group. Then the HLR: the rank inside the positive's class by
    the key ``iou + (m - l)``, i.e. by local rank, then by IoU; ``m`` is the
    number of positives of the most frequent class.

    Args:
        ious (Tensor): (n,) IoU of each positive's decoded prediction with its
            target box.
        gt_groups (Tensor): (n,) int id of the ground truth each positive is
            assigned to, unique across the batch.
        labels (Tensor): (n,) int class of each positive.

    Returns:
        tuple[Tensor, Tensor]: (n,) int64 IoU-HLR (0 = most important) and
        ``m`` as a 0-dim int64 tensor.
    """
    if ious.numel() == 0:
        return labels.new_zeros(0, dtype=torch.long), labels.new_ones(
            (), dtype=torch.long)
    max_class_size = torch.bincount(labels).max()
    local_rank = segment_rank(ious, gt_groups)
    keys = ious + (max_class_size - local_rank.float())
    return segment_rank(keys, labels), max_class_size


def isr_p_weights(ious, gt_groups, labels, label_weights, k=2., bias=0.):
    """ISR-P weights of positives, before renormalisation.

    ``w = (bias + (1 - bias) * lw * (m - r) / m) ** k`` with ``r`` the IoU-HLR
    (:func:`iou_hlr`) and ``lw`` the positive's original label weight.

    Args:
        ious, gt_groups, labels: see :func:`iou_hlr`, each (n,).
        label_weights (Tensor): (n,) original classification weights.
        k (float): power of the map. bias (float): shift of the map.

    Returns:
        Tensor: (n,) weights.
    """
    hlr, max_class_size = iou_hlr(ious, gt_groups, labels)
    u = label_weights * ((max_class_size - hlr.float()) / max_class_size)
    return power_map(u, k, bias)


def loss_preserving_weights(weights, loss, ref_weights=None):
    """Rescales ``weights`` so the weighted loss sum equals the reference one.

    ``weights * sum(l * ref) / sum(l * weights)`` with ``l`` the loss of each
    sample (a row of a loss of more than one dimension, e.g. sigmoid losses,
    (n, C), is summed first); ``ref`` defaults to ones. The ratio is 1 where
    the new sum is 0 (no NaN).

    Args:
        weights (Tensor): (n,) new weights.
        loss (Tensor): (n,) or (n, ...) unreduced loss of the n samples.
        ref_weights (Tensor, optional): (n,) original weights.

    Returns:
        Tensor: (n,) rescaled weights.
    """
    if loss.dim() > 1:
        loss = loss.sum(tuple(range(1, loss.dim())))
    ref_sum = loss.sum() if ref_weights is None else (loss * ref_weights).sum()
    new_sum = (loss * weights).sum()
    safe = new_sum != 0
    ratio = torch.where(safe, ref_sum / torch.where(safe, new_sum, 1.), 1.)
    return weights * ratio


def carl_weights(pos_scores, k=1., bias=0.2):
    """CARL weights of positives from their classification scores.

    ``w_i = (bias + (1 - bias) * s_i) ** k``, scaled to ``n * w_i / sum(w)`` so
    they average 1. The gradient flows into ``pos_scores``.

    Args:
        pos_scores (Tensor): (n,) probability of each positive's true class.

    Returns:
        Tensor: (n,) weights.
    """
    weights = power_map(pos_scores, k, bias)
    total = weights.sum()
    safe = total > 0
    num = pos_scores.size(0)
    ratio = torch.where(safe, num / torch.where(safe, total, 1.), 1.)
    return weights * ratio


def carl_loss(pos_scores, pos_reg_loss, avg_factor, k=1., bias=0.2):
    """Classification-aware regression loss.

    ``sum_i w_i * L_reg,i / avg_factor`` with ``w`` from :func:`carl_weights`.

    Args:
        pos_scores (Tensor): (n,) probability of each positive's true class.
        pos_reg_loss (Tensor): (n,) or (n, 4) unreduced regression loss.
        avg_factor (float or Tensor): normaliser of the regression loss.

    Returns:
        Tensor: (1,) loss.
    """
    weights = carl_weights(pos_scores, k, bias)
    shape = (-1, ) + (1, ) * (pos_reg_loss.dim() - 1)
    return ((pos_reg_loss / avg_factor) * weights.view(shape)).sum()[None]


def pairwise_box_iou(boxes1, boxes2):
    """IoU matrix (m, n) of (x1, y1, x2, y2) boxes, no eps.

    ``inter / (area1 + area2 - inter)``: the float arithmetic of mmcv's NMS
    kernels, so threshold decisions agree with theirs.
    """
    x1, y1, x2, y2 = boxes1.t()[:, :, None]
    u1, v1, u2, v2 = boxes2.t()[:, None, :]
    inter = (torch.min(x2, u2) - torch.max(x1, u1)).clamp_(min=0)
    inter *= (torch.min(y2, v2) - torch.max(y1, v1)).clamp_(min=0)
    union = ((x2 - x1) * (y2 - y1)) + ((u2 - u1) * (v2 - v1))
    return inter.div_(union.sub_(inter))


def nms_match_leaders(boxes, scores, keep, iou_thr):
    """NMS-match groups: the kept box that heads each box's group.

    Greedy NMS (IoU >= ``iou_thr`` suppresses) keeps the boxes ``keep``; each
    suppressed box joins the first kept box, in descending score order, that
    overlaps it with IoU >= ``iou_thr``. That is the grouping of mmcv's
    ``nms_match``, computed with one (kept x suppressed) IoU matrix instead
    of a loop over groups. (A kept box scoring lower than a suppressed box
    never comes first: the box was suppressed by a higher-scoring one.)

    Args:
        boxes (Tensor): (n, 4) boxes.
        scores (Tensor): (n,) scores.
        keep (Tensor): (m,) indices of the boxes kept by NMS at ``iou_thr``.
        iou_thr (float): IoU threshold of the match.

    Returns:
        Tensor: (n,) index of each box's group leader (a kept box; a kept box
        leads itself).
    """
    n = scores.numel()
    keep = keep[torch.sort(scores[keep], descending=True, stable=True).indices]
    is_kept = torch.zeros(n, dtype=torch.bool, device=scores.device)
    is_kept[keep] = True
    suppressed = (~is_kept).nonzero().view(-1)
    overlaps = pairwise_box_iou(boxes[keep], boxes[suppressed]) >= iou_thr
    leaders = torch.arange(n, device=scores.device)
    leaders[suppressed] = keep[overlaps.max(0).indices]
    return leaders


def score_hlr_order(scores, local_rank):
    """Score-HLR order of valid negatives.

    Local rank ``l``: rank of the score inside the negative's NMS-match
    group (:func:`nms_match_leaders`, then :func:`segment_rank`). HLR: rank
    over all samples by the float key ``(n - l) + score``, i.e. by local
    rank, then by score; equal keys by index.

    Args:
        scores (Tensor): (n,) max foreground score of each valid negative.
        local_rank (Tensor): (n,) int local rank of each.

    Returns:
        Tensor: (n,) indices of the negatives from highest to lowest
        importance.
    """
    importance = (scores.numel() - local_rank.float()) + scores
    return torch.sort(importance, descending=True, stable=True).indices


def score_hlr_weights(num_hlr, num_rand, num_valid, k=0.5, bias=0.,
                      device=None):
    """ISR-N weights of sampled negatives, before renormalisation.

    The ``num_hlr`` negatives taken in Score-HLR order get
    ``u_r = (U - r) / U`` for rank ``r``, with ``U = max(num_hlr + num_rand,
    num_valid)``; the ``num_rand`` filled at random get the smallest of those
    (1 when there are none); then ``(bias + (1 - bias) * u) ** k``.

    Returns:
        Tensor: (num_hlr + num_rand,) float32 weights, HLR part first.
    """
    num = num_hlr + num_rand
    up_bound = max(num, num_valid)
    rank = torch.arange(num, dtype=torch.float32, device=device).clamp_(
        max=max(num_hlr - 1, 0))
    return power_map((up_bound - rank) / up_bound, k, bias)
