"""Score-HLR sampler: ISR-N of PISA (Cao et al., CVPR 2020).

Negatives whose best foreground score exceeds ``score_thr`` are *valid*. They
are grouped by NMS-match of their decoded boxes at ``iou_thr``, ranked by
Score-HLR (:func:`imbalance_plugin.functional.pisa.score_hlr_order`), and the
top ones are sampled with weights ``(bias + (1 - bias) * (U - r) / U) ** k``;
if too few are valid, the rest is filled at random from the invalid ones with
the smallest HLR weight. The weights are rescaled so the sampled negatives'
classification loss sum is unchanged.

The sampler needs classification scores and box deltas of every negative
candidate. :meth:`ScoreHLRSampler.sample` gets them like mmdet's sampler, by
one extra forward of the RoI head given as ``context``, so it is a drop-in
replacement. :class:`imbalance_plugin.PISARoIHead` instead calls the steps
(:meth:`prepare`, :meth:`sample_positives`, :meth:`select_negatives`) itself
and reuses the RoI features it pooled for the scoring in the loss.

Random draws (``torch.randperm``) are made in the same order and sizes as
mmdet 3.3.0's ``ScoreHLRSampler``, so a seeded run samples the same RoIs.
"""
import math
from itertools import chain

import numpy as np
import torch
from mmcv.ops import nms
from mmcv.ops.nms import ext_module as mmcv_ext
from mmdet.models.losses import CrossEntropyLoss
from mmdet.models.task_modules.samplers import BaseSampler
from mmdet.structures.bbox import bbox2roi

from imbalance_plugin.functional.delta_xywh import decode
from imbalance_plugin.functional.pisa import (check_power_map,
                                              loss_preserving_weights,
                                              nms_match_leaders,
                                              score_hlr_order,
                                              score_hlr_weights)
from imbalance_plugin.heads.unreduced_loss import unreduced_loss
from imbalance_plugin.registry import TASK_UTILS
from imbalance_plugin.samplers.sampling_result import sampling_result


def _check_fraction(value, name, upper_open=False):
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not (0 <= value < 1 if upper_open else 0 <= value <= 1)):
        bound = '[0, 1)' if upper_open else '[0, 1]'
        raise ValueError(
            f'ScoreHLRSampler.{name} must be a number in {bound}, got '
            f'{value!r}')


def hlr_order_of_groups(groups, scores, num_hlr):
    """The first ``num_hlr`` indices in Score-HLR order, from the groups of
    mmcv's ``nms_match`` kernel.

    The kernel lists each group by descending score, leader first, and the
    groups by their leaders' scores, so the local rank ``l`` of a box is its
    position in its group and the leaders are already in order. The key
    ``(n - l) + score`` is formed in the scores' dtype as mmdet does, sorted
    descending (ties by index).

    Args:
        groups (list[list[int]]): the kernel's groups of box indices.
        scores (ndarray): (n,) scores of the boxes.
        num_hlr (int): how many indices to return, >= 1.

    Returns:
        ndarray: (num_hlr,) int64 box indices.
    """
    if len(groups) >= num_hlr:
        return np.fromiter((group[0] for group in groups[:num_hlr]),
                           np.int64, num_hlr)
    n = scores.size
    members = np.fromiter(chain.from_iterable(groups), np.int64, n)
    sizes = np.fromiter(map(len, groups), np.int64, len(groups))
    local_rank = np.empty(n, dtype=scores.dtype)
    local_rank[members] = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes,
                                                   sizes)
    importance = (n - local_rank) + scores
    return np.argsort(-importance, kind='stable')[:num_hlr]


def _host_array(tensor):
    """The tensor as a numpy array on the host (bfloat16 as float32)."""
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy(force=True)


def _is_plain_softmax_ce(loss_cls, num_classes):
    """Whether ``loss_cls`` is mmdet's softmax cross-entropy, unweighted per
    class, with a positive loss weight and the background not ignored."""
    return (type(loss_cls) is CrossEntropyLoss and not loss_cls.use_sigmoid
            and not loss_cls.use_mask and loss_cls.class_weight is None
            and loss_cls.ignore_index != num_classes
            and loss_cls.loss_weight > 0)


@TASK_UTILS.register_module()
class ScoreHLRSampler(BaseSampler):
    """Importance-based sample reweighting of negatives (ISR-N).

    Args:
        num (int): RoIs sampled per image, > 0.
        pos_fraction (float): upper fraction of positives, in [0, 1].
        context (StandardRoIHead, optional): the RoI head whose
            ``_bbox_forward`` scores the negatives and whose ``bbox_head``
            gives the classification loss and the box coder. Set by the RoI
            head when it builds its sampler.
        neg_pos_ub (int): upper bound of negatives per positive, -1 for none.
        add_gt_as_proposals (bool): add the ground truths as proposals.
        k (float): power of the weight map, >= 0 (paper: 0.5).
        bias (float): shift of the weight map, in [0, 1) (paper: 0).
        score_thr (float): a negative is valid if its max foreground score
            exceeds this, in [0, 1] (default 0.05).
        iou_thr (float): IoU of NMS-match, in [0, 1] (default 0.5).
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
                 **kwargs):
        if isinstance(num, bool) or not isinstance(num, int) or num <= 0:
            raise ValueError(
                f'ScoreHLRSampler.num must be an integer > 0, got {num!r}')
        _check_fraction(pos_fraction, 'pos_fraction')
        _check_fraction(score_thr, 'score_thr')
        _check_fraction(iou_thr, 'iou_thr')
        check_power_map(k, bias, 'ScoreHLRSampler')
        if (isinstance(neg_pos_ub, bool) or not isinstance(neg_pos_ub, int)
                or neg_pos_ub < -1):
            raise ValueError('ScoreHLRSampler.neg_pos_ub must be -1 (no '
                             f'bound) or an integer >= 0, got {neg_pos_ub!r}')
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
        # mmcv's nms suppresses at IoU > t, NMS-match at IoU >= t: the float32
        # just below iou_thr makes the former behave as the latter.
        self._nms_thr = float(
            torch.nextafter(torch.tensor(iou_thr, dtype=torch.float32),
                            torch.tensor(-math.inf)))

    #: Group with mmcv's C++ nms_match kernel (True), vectorised on the
    #: device (False), or the kernel on CPU only (None).
    nms_match_kernel = None

    @property
    def bbox_head(self):
        return self.context.bbox_head

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

    def prepare(self, assign_result, pred_instances, gt_instances):
        """Adds the ground truths as proposals (in place on assign_result).

        Returns:
            tuple[Tensor, Tensor]: priors (n, 4) and gt_flags (n,) uint8.
        """
        gt_bboxes = gt_instances.bboxes
        priors = pred_instances.priors
        gt_flags = priors.new_zeros((priors.shape[0], ), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            priors = torch.cat([gt_bboxes, priors], dim=0)
            assign_result.add_gt_(gt_instances.labels)
            gt_flags = torch.cat(
                [priors.new_ones(gt_bboxes.shape[0], dtype=torch.uint8),
                 gt_flags])
        return priors, gt_flags

    def sample_positives(self, assign_result):
        """Positives, at most ``num * pos_fraction`` drawn at random.

        Returns:
            tuple[Tensor, int]: positive indices and the number of negatives
            to sample.
        """
        pos_inds = self._sample_pos(assign_result,
                                    int(self.num * self.pos_fraction))
        num_pos = pos_inds.numel()
        num_neg = self.num - num_pos
        if self.neg_pos_ub >= 0:
            num_neg = min(num_neg, int(self.neg_pos_ub * max(1, num_pos)))
        return pos_inds, num_neg

    @staticmethod
    def negative_candidates(assign_result):
        """Indices of all negatives (assigned to background)."""
        return torch.nonzero(assign_result.gt_inds == 0).flatten()

    def select_negatives(self, cls_score, bbox_pred, neg_priors,
                         num_expected):
        """Score-HLR sampling of negatives given their head outputs.

        Args:
            cls_score (Tensor): (n, C + 1) classification logits of the n
                negative candidates.
            bbox_pred (Tensor): (n, 4) or (n, 4 * C) box deltas.
            neg_priors (Tensor): (n, 4) their boxes.
            num_expected (int): negatives wanted.

        Returns:
            tuple[Tensor, Tensor]: positions into the candidates of the
            sampled negatives (HLR part first) and their (m,) weights.
        """
        num_neg = neg_priors.size(0)
        num_expected = min(num_neg, num_expected)
        if num_neg == 0:
            return neg_priors.new_zeros(0, dtype=torch.long), \
                neg_priors.new_ones(0)
        cls_score = cls_score.detach()
        if getattr(self.bbox_head.loss_cls, 'use_sigmoid', False):
            probs = cls_score.sigmoid()
        else:
            probs = cls_score.softmax(-1)
        kernel = self.nms_match_kernel
        if kernel is None:
            kernel = neg_priors.device.type == 'cpu'
        if kernel:
            return self._select_on_host(cls_score, probs, bbox_pred.detach(),
                                        neg_priors, num_expected)
        return self._select_on_device(cls_score, probs, bbox_pred.detach(),
                                      neg_priors, num_expected)

    def _select_on_host(self, cls_score, probs, bbox_pred, neg_priors,
                        num_expected):
        """:meth:`select_negatives` with mmcv's C++ ``nms_match`` kernel.

        The bookkeeping of one image's few thousand candidates is done in
        numpy, in as few calls as possible (on a CPU a numpy call costs about
        a microsecond, a torch one ten); the boxes are decoded in numpy too
        when the coder is mmdet's ``DeltaXYWHBBoxCoder`` (:func:`decode`,
        bit for bit the coder's). The kernel's Python wrapper, which makes a
        tensor per group, is bypassed (:func:`hlr_order_of_groups`).
        """
        num_classes = self.bbox_head.num_classes
        device = cls_score.device
        probs = _host_array(probs)
        background = probs[:, num_classes:].copy()
        # The best foreground class by a row-wise argmax over whole
        # (contiguous, so faster) rows, the background masked out.
        probs[:, num_classes:] = -1
        best = probs.argmax(1)
        max_score = probs[np.arange(best.size), best]
        valid = max_score > self.score_thr
        valid_inds = valid.nonzero()[0]
        num_valid = valid_inds.size
        num_hlr = min(num_valid, num_expected)
        if num_valid == 0:
            select = torch.randperm(best.size)[:num_expected].to(device)
            return select, score_hlr_weights(0, num_expected, 0,
                                             device=device)
        valid_score = max_score[valid_inds]
        # The deltas of each valid negative's best class (or the only ones),
        # taken as rows of the (n * classes, 4) view: one flat take.
        deltas = _host_array(bbox_pred).reshape(-1, 4)
        per_row = deltas.shape[0] // best.size
        rows = valid_inds * per_row + best[valid_inds] if per_row > 1 else \
            valid_inds
        boxes = decode(self.bbox_head.bbox_coder,
                       _host_array(neg_priors).take(valid_inds, 0),
                       deltas.take(rows, 0))
        # The kernel reads the columns of dets: a (5, m) array's transpose.
        dets = np.concatenate([boxes.T, valid_score[None]], dtype=np.float32)
        groups = mmcv_ext.nms_match(torch.from_numpy(dets).T,
                                    iou_threshold=self.iou_thr)
        select = valid_inds[hlr_order_of_groups(groups, valid_score, num_hlr)]
        if num_hlr < num_expected:
            invalid_inds = (~valid).nonzero()[0]
            rand = torch.randperm(invalid_inds.size)[:num_expected - num_hlr]
            select = np.concatenate([select, invalid_inds[rand.numpy()]])
        weights = score_hlr_weights(num_hlr, num_expected - num_hlr,
                                    num_valid, self.k, self.bias).numpy()
        p_bg = background[select, 0] if background.shape[1] else None
        if (p_bg is not None and p_bg.min() > 0 and _is_plain_softmax_ce(
                self.bbox_head.loss_cls, num_classes)):
            # The loss is loss_weight * -log p_bg; the constant cancels in the
            # renormalisation, so the loss need not be called.
            loss = -np.log(p_bg)
        else:
            loss = _host_array(self._background_loss(
                cls_score, torch.from_numpy(select).to(device)))
        weights = loss_preserving_weights(weights, loss)
        return torch.from_numpy(select).to(device), \
            torch.from_numpy(weights).to(device)

    def _select_on_device(self, cls_score, probs, bbox_pred, neg_priors,
                          num_expected):
        """:meth:`select_negatives` in torch on the tensors' device.

        NMS-match groups: NMS, then each suppressed box joins its first
        overlapping kept box. Group leaders (local rank 0) come first in
        Score-HLR order, by score: when there are ``num_hlr`` of them, no
        group needs its members ranked.
        """
        bbox_head = self.bbox_head
        device = cls_score.device
        max_score, best = probs[:, :bbox_head.num_classes].max(-1)
        valid = max_score > self.score_thr
        valid_inds = valid.nonzero().view(-1)
        num_valid = valid_inds.numel()
        num_hlr = min(num_valid, num_expected)
        if num_valid == 0:
            select = torch.randperm(max_score.numel())[:num_expected]
            return select.to(device), score_hlr_weights(0, num_expected, 0,
                                                        device=device)
        valid_score = max_score[valid_inds]
        if bbox_pred.size(-1) > 4:
            deltas = bbox_pred.reshape(-1, 4).index_select(
                0, valid_inds * (bbox_pred.size(-1) // 4) + best[valid_inds])
        else:
            deltas = bbox_pred.index_select(0, valid_inds)
        boxes = decode(bbox_head.bbox_coder,
                       neg_priors.index_select(0, valid_inds),
                       deltas).contiguous()
        _, keep = nms(boxes, valid_score, self._nms_thr)
        if keep.numel() >= num_hlr:
            order = keep[:num_hlr]
        else:
            leaders = nms_match_leaders(boxes, valid_score, keep,
                                        self.iou_thr)
            order = score_hlr_order(valid_score, leaders)[:num_hlr]
        select = valid_inds[order]
        if num_hlr < num_expected:
            invalid_inds = (~valid).nonzero().view(-1)
            rand = torch.randperm(invalid_inds.numel())[:num_expected -
                                                        num_hlr]
            select = torch.cat([select, invalid_inds[rand.to(device)]])
        weights = score_hlr_weights(num_hlr, num_expected - num_hlr,
                                    num_valid, self.k, self.bias,
                                    device=device)
        loss = self._background_loss(cls_score, select)
        return select, loss_preserving_weights(weights, loss)

    def _background_loss(self, cls_score, select):
        """Unreduced classification loss of the ``select`` rows as background
        (the head's loss; each row's loss is independent of the others)."""
        bbox_head = self.bbox_head
        background = select.new_full((select.numel(), ),
                                     bbox_head.num_classes)
        return unreduced_loss(bbox_head.loss_cls,
                              cls_score.index_select(0, select), background)

    def sample(self, assign_result, pred_instances, gt_instances, feats=None,
               **kwargs):
        """Samples positives at random and negatives by Score-HLR.

        The negatives are scored by one forward of ``context`` on ``feats``
        (the features of this image), as mmdet's sampler does.

        Returns:
            tuple[SamplingResult, Tensor]: the sampling result and the
            (num_neg,) weights of its negatives.
        """
        priors, gt_flags = self.prepare(assign_result, pred_instances,
                                        gt_instances)
        pos_inds, num_expected_neg = self.sample_positives(assign_result)
        candidates = self.negative_candidates(assign_result)
        neg_priors = priors.index_select(0, candidates)
        if candidates.numel() > 0:
            with torch.no_grad():
                result = self.context._bbox_forward(feats,
                                                    bbox2roi([neg_priors]))
            cls_score, bbox_pred = result['cls_score'], result['bbox_pred']
        else:
            cls_score = bbox_pred = None
        select, weights = self.select_negatives(cls_score, bbox_pred,
                                                neg_priors, num_expected_neg)
        result = sampling_result(pos_inds, candidates[select], priors,
                                 gt_instances.bboxes, assign_result,
                                 gt_flags)
        return result, weights
