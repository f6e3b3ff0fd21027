"""Score-HLR sampler: ISR-N of PISA (Cao et al., CVPR 2020).

Negatives whose best foreground score exceeds ``score_thr`` are *valid*. They
are grouped by NMS-match of their decoded boxes at ``iou_thr``, ranked by
Score-HLR (:func:`imbalance_plugin.functional.pisa.score_hlr_order`), and the
top ones are sampled with weights ``(bias + (1 - bias) * (U - r) / U) ** k``;
if too few are valid, the rest is filled at random from the invalid ones with
the smallest HLR weight. The weights are rescaled so the sampled negatives'
classification loss sum is unchanged.

The sampler needs classification scores and box deltas of every negative
candidate, and the RoI head's loss, box coder and class count.
:meth:`ScoreHLRSampler.sample` takes them as arguments (``score_negatives``,
``bbox_head``), which is how :class:`imbalance_plugin.PISARoIHead` calls it;
without them it gets them like mmdet's sampler, by one extra forward of the
RoI head given as ``context``, so it is a drop-in replacement in mmdet's own
RoI heads.

Random draws (``torch.randperm``) are made in the same order and sizes as
mmdet 3.3.0's ``ScoreHLRSampler``, so a seeded run samples the same RoIs.
"""
import functools
import math
from array import array
from itertools import chain

import torch
from mmcv.ops import nms
from mmcv.ops.nms import ext_module as mmcv_ext
from mmdet.models.task_modules.samplers import BaseSampler
from mmdet.structures.bbox import bbox2roi

from imbalance_plugin.functional.pisa import (
    loss_preserving_weights,
    nms_match_leaders,
    score_hlr_order,
    score_hlr_weights,
    segment_rank,
)
from imbalance_plugin.losses.unreduced_loss import unreduced_loss
from imbalance_plugin.registry import TASK_UTILS
from imbalance_plugin.samplers.sampling_result import sampling_result
from imbalance_plugin.structures.box_decoding import class_deltas, decode
from imbalance_plugin.utils.settings import (
    check_bool,
    check_choice,
    check_int,
    check_number,
)

#: How NMS-match groups the valid negatives: mmcv's C++ ``nms_match`` kernel
#: (on the host), torch on the boxes' device, or the kernel for boxes on the
#: CPU and torch elsewhere.
GROUPINGS = ('auto', 'nms_match', 'torch')


@functools.lru_cache
def _just_below(value):
    """The float32 just below ``value``, as a Python float."""
    return float(torch.nextafter(torch.tensor(value, dtype=torch.float32),
                                 torch.tensor(-math.inf)))


def _long_tensor(values):
    """int64 tensor of an iterable of ints, converted through a C array
    rather than a Python list (why: docs/experiments.md, PISA speed)."""
    return torch.frombuffer(array('q', values), dtype=torch.long)


def kernel_local_rank(groups, num):
    """(num,) int64 local rank of each box from the ``nms_match`` kernel's
    groups, which list each group by descending score: a box's local rank is
    its position in its group.

    Args:
        groups (list[list[int]]): the kernel's groups of box indices, not
            empty.
        num (int): number of boxes.
    """
    local_rank = torch.empty(num, dtype=torch.long)
    local_rank[_long_tensor(chain.from_iterable(groups))] = _long_tensor(
        chain.from_iterable(map(range, map(len, groups))))
    return local_rank


def hlr_order(boxes, scores, iou_thr, num_hlr, kernel):
    """The first ``num_hlr`` boxes in Score-HLR order.

    NMS-match groups the boxes, by mmcv's ``nms_match`` kernel (``kernel``)
    or by torch (NMS, then each suppressed box joins its first overlapping
    kept box, :func:`nms_match_leaders`); only that step differs. Group
    leaders (local rank 0) come first in Score-HLR order, by score: when
    there are ``num_hlr`` of them, no group needs its members ranked.

    Args:
        boxes (Tensor): (n, 4) decoded boxes of the valid negatives.
        scores (Tensor): (n,) their max foreground scores.
        iou_thr (float): IoU of the match (IoU >= ``iou_thr`` groups).
        num_hlr (int): how many to return, in [1, n].
        kernel (bool): group with the kernel.

    Returns:
        Tensor: (num_hlr,) int64 indices, on the boxes' device.
    """
    device = boxes.device
    if kernel:
        # The kernel reads the columns of dets: a (5, n) tensor's transpose.
        dets = torch.cat([boxes.t(), scores[None]]).float().cpu()
        groups = mmcv_ext.nms_match(dets.t(), iou_threshold=iou_thr)
        if len(groups) >= num_hlr:
            return _long_tensor(group[0]
                                for group in groups[:num_hlr]).to(device)
        local_rank = kernel_local_rank(groups, scores.numel()).to(device)
    else:
        # mmcv's nms suppresses at IoU > t, NMS-match at IoU >= t: the float32
        # just below iou_thr makes the former behave as the latter.
        _, keep = nms(boxes.contiguous(), scores, _just_below(iou_thr))
        if keep.numel() >= num_hlr:
            return keep[:num_hlr]
        local_rank = segment_rank(
            scores, nms_match_leaders(boxes, scores, keep, iou_thr))
    return score_hlr_order(scores, local_rank)[:num_hlr]


@TASK_UTILS.register_module()
class ScoreHLRSampler(BaseSampler):
    """Importance-based sample reweighting of negatives (ISR-N).

    Args:
        num (int): RoIs sampled per image, > 0.
        pos_fraction (float): upper fraction of positives, in [0, 1].
        context (StandardRoIHead, optional): the RoI head whose
            ``_bbox_forward`` scores the negatives and whose ``bbox_head``
            gives the classification loss and the box coder when
            :meth:`sample` is not given them. Set by mmdet's RoI heads when
            they build their sampler.
        neg_pos_ub (int): upper bound of negatives per positive, -1 for none.
        add_gt_as_proposals (bool): add the ground truths as proposals.
        k (float): power of the weight map, >= 0 (paper: 0.5).
        bias (float): shift of the weight map, in [0, 1) (paper: 0).
        score_thr (float): a negative is valid if its max foreground score
            exceeds this, in [0, 1] (default 0.05).
        iou_thr (float): IoU of NMS-match, in [0, 1] (default 0.5).
        grouping (str): how NMS-match groups the valid negatives, one of
            :data:`GROUPINGS`: ``'nms_match'`` mmcv's kernel (on the host,
            as mmdet's sampler), ``'torch'`` on the boxes' device, ``'auto'``
            (default) the kernel for boxes on the CPU, torch elsewhere. The
            groups are the same; only speed differs.
    """

    def __init__(self,
                 num,
                 pos_fraction,
                 context=None,
                 neg_pos_ub=-1,
                 add_gt_as_proposals=True,
                 k=0.5,
                 bias=0.,
                 score_thr=0.05,
                 iou_thr=0.5,
                 grouping='auto'):
        check_int(num, 'ScoreHLRSampler.num', low=1)
        for name, value in (('pos_fraction', pos_fraction),
                            ('score_thr', score_thr), ('iou_thr', iou_thr)):
            check_number(value, f'ScoreHLRSampler.{name}', low=0, high=1)
        check_int(neg_pos_ub, 'ScoreHLRSampler.neg_pos_ub (-1: no bound)',
                  low=-1)
        check_bool(add_gt_as_proposals, 'ScoreHLRSampler.add_gt_as_proposals')
        check_number(k, 'ScoreHLRSampler.k', low=0)
        check_number(bias, 'ScoreHLRSampler.bias', low=0, high=1,
                     high_open=True)
        check_choice(grouping, 'ScoreHLRSampler.grouping', GROUPINGS)
        super().__init__(
            num=num,
            pos_fraction=pos_fraction,
            neg_pos_ub=neg_pos_ub,
            add_gt_as_proposals=add_gt_as_proposals)
        self.context = context
        self.k = k
        self.bias = bias
        self.score_thr = score_thr
        self.iou_thr = iou_thr
        self.grouping = grouping

    # The two abstract hooks of BaseSampler, for callers that use them.
    def _sample_pos(self, assign_result, num_expected, **kwargs):
        pos_inds = torch.nonzero(assign_result.gt_inds > 0).flatten()
        if pos_inds.numel() <= num_expected:
            return pos_inds
        perm = torch.randperm(pos_inds.numel(), device=pos_inds.device)
        return pos_inds[perm[:num_expected]]

    def _sample_neg(self, assign_result, num_expected, **kwargs):
        raise NotImplementedError(
            'ScoreHLRSampler samples negatives with select_negatives(), '
            'which needs their scores; use sample().')

    def select_negatives(self, cls_score, bbox_pred, neg_priors,
                         num_expected, bbox_head):
        """Score-HLR sampling of negatives given their head outputs.

        Args:
            cls_score (Tensor): (n, C + 1) classification logits of the n
                negative candidates.
            bbox_pred (Tensor): (n, 4) or (n, 4 * C) box deltas.
            neg_priors (Tensor): (n, 4) their boxes.
            num_expected (int): negatives wanted.
            bbox_head (BBoxHead): gives ``num_classes``, ``loss_cls`` (its
                scores' activation and the loss that renormalises the
                weights) and ``bbox_coder``.

        Returns:
            tuple[Tensor, Tensor]: positions into the candidates of the
            sampled negatives (HLR part first) and their (m,) weights.
        """
        num_neg = neg_priors.size(0)
        num_expected = min(num_neg, num_expected)
        device = neg_priors.device
        if num_neg == 0:
            return neg_priors.new_zeros(0, dtype=torch.long), \
                neg_priors.new_ones(0)
        num_classes = bbox_head.num_classes
        cls_score = cls_score.detach()
        if getattr(bbox_head.loss_cls, 'use_sigmoid', False):
            probs = cls_score.sigmoid()
        else:
            probs = cls_score.softmax(-1)
        max_score, best = probs[:, :num_classes].max(-1)
        valid = max_score > self.score_thr
        valid_inds = valid.nonzero().view(-1)
        num_valid = valid_inds.numel()
        num_hlr = min(num_valid, num_expected)
        if num_valid == 0:
            select = torch.randperm(num_neg)[:num_expected]
            return select.to(device), score_hlr_weights(0, num_expected, 0,
                                                        device=device)
        valid_score = max_score.index_select(0, valid_inds)
        deltas = class_deltas(bbox_pred.detach(), valid_inds,
                              best.index_select(0, valid_inds))
        boxes = decode(bbox_head.bbox_coder,
                       neg_priors.index_select(0, valid_inds), deltas)
        kernel = self.grouping == 'nms_match' or (self.grouping == 'auto'
                                                  and device.type == 'cpu')
        select = valid_inds.index_select(
            0, hlr_order(boxes, valid_score, self.iou_thr, num_hlr, kernel))
        if num_hlr < num_expected:
            invalid_inds = (~valid).nonzero().view(-1)
            rand = torch.randperm(invalid_inds.numel())[:num_expected -
                                                        num_hlr]
            select = torch.cat(
                [select, invalid_inds.index_select(0, rand.to(device))])
        weights = score_hlr_weights(num_hlr, num_expected - num_hlr,
                                    num_valid, self.k, self.bias,
                                    device=device)
        # Each row's loss is independent of the others: the head's loss on
        # the sampled rows, as background.
        loss = unreduced_loss(bbox_head.loss_cls,
                              cls_score.index_select(0, select),
                              select.new_full((select.numel(), ),
                                              num_classes))
        return select, loss_preserving_weights(weights, loss)

    def sample(self, assign_result, pred_instances, gt_instances, feats=None,
               score_negatives=None, bbox_head=None):
        """Samples positives at random and negatives by Score-HLR.

        Args:
            assign_result (AssignResult): the assignment of the priors (the
                ground truths are added to it in place when
                ``add_gt_as_proposals``).
            pred_instances (InstanceData): ``priors``, (n, 4) proposals.
            gt_instances (InstanceData): ``bboxes`` and ``labels``.
            feats (list[Tensor], optional): this image's features, for the
                scoring by ``context`` (when ``score_negatives`` is None).
            score_negatives (callable, optional): ``(m, 4) boxes -> (cls_score
                (m, C + 1), bbox_pred (m, 4) or (m, 4 * C))``, the RoI head
                on the negative candidates, without gradient. Default: one
                forward of ``context`` on ``feats``, as mmdet's sampler does.
            bbox_head (BBoxHead, optional): see :meth:`select_negatives`.
                Default: ``context.bbox_head``.

        Returns:
            tuple[SamplingResult, Tensor]: the sampling result and the
            (num_neg,) weights of its negatives.
        """
        if score_negatives is None:
            score_negatives = self._score_by_context(feats)
        if bbox_head is None:
            bbox_head = self.context.bbox_head
        gt_bboxes = gt_instances.bboxes
        priors = pred_instances.priors
        gt_flags = priors.new_zeros((priors.shape[0], ), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            priors = torch.cat([gt_bboxes, priors], dim=0)
            assign_result.add_gt_(gt_instances.labels)
            gt_flags = torch.cat(
                [priors.new_ones(gt_bboxes.shape[0], dtype=torch.uint8),
                 gt_flags])
        pos_inds = self._sample_pos(assign_result,
                                    int(self.num * self.pos_fraction))
        num_expected_neg = self.num - pos_inds.numel()
        if self.neg_pos_ub >= 0:
            num_expected_neg = min(
                num_expected_neg,
                int(self.neg_pos_ub * max(1, pos_inds.numel())))
        candidates = torch.nonzero(assign_result.gt_inds == 0).flatten()
        neg_priors = priors.index_select(0, candidates)
        cls_score = bbox_pred = None
        if candidates.numel() > 0:
            with torch.no_grad():
                cls_score, bbox_pred = score_negatives(neg_priors)
        select, weights = self.select_negatives(cls_score, bbox_pred,
                                                neg_priors, num_expected_neg,
                                                bbox_head)
        result = sampling_result(pos_inds, candidates.index_select(0, select),
                                 priors, gt_bboxes, assign_result, gt_flags)
        return result, weights

    def _score_by_context(self, feats):
        """``score_negatives`` by one forward of ``context`` on ``feats``."""

        def score(neg_priors):
            result = self.context._bbox_forward(feats, bbox2roi([neg_priors]))
            return result['cls_score'], result['bbox_pred']

        return score
