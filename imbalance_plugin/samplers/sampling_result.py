"""mmdet's ``SamplingResult`` built with fewer tensor operations.

mmdet's constructor indexes with ``__getitem__`` and checks its inputs;
:func:`sampling_result` makes the same object, field for field, with
``index_select`` and no checks (why: docs/experiments.md, PISA speed).
"""
import torch
from mmdet.models.task_modules.samplers import SamplingResult


def sampling_result(pos_inds, neg_inds, priors, gt_bboxes, assign_result,
                    gt_flags):
    """mmdet's ``SamplingResult`` (``avg_factor_with_neg=True``), the same
    fields with the same values as its constructor sets, built with
    ``index_select`` and without its checks. Boxes other than a plain (k, 4)
    tensor go through the constructor.

    Args:
        pos_inds, neg_inds (Tensor): (p,) and (m,) int64 indices of ``priors``.
        priors (Tensor): (n, 4) boxes, the ground truths first if added.
        gt_bboxes (Tensor): (k, 4) ground-truth boxes.
        assign_result (AssignResult): ``gt_inds`` and ``labels`` of the n.
        gt_flags (Tensor): (n,) uint8, 1 for ground truths added as priors.
    """
    if type(gt_bboxes) is not torch.Tensor or gt_bboxes.dim() != 2:
        return SamplingResult(pos_inds, neg_inds, priors, gt_bboxes,
                              assign_result, gt_flags)
    result = SamplingResult.__new__(SamplingResult)
    result.pos_inds = pos_inds
    result.neg_inds = neg_inds
    result.num_pos = max(pos_inds.numel(), 1)
    result.num_neg = max(neg_inds.numel(), 1)
    result.avg_factor_with_neg = True
    result.avg_factor = result.num_pos + result.num_neg
    result.pos_priors = priors.index_select(0, pos_inds)
    result.neg_priors = priors.index_select(0, neg_inds)
    result.pos_is_gt = gt_flags.index_select(0, pos_inds)
    result.num_gts = gt_bboxes.shape[0]
    result.pos_assigned_gt_inds = assign_result.gt_inds.index_select(
        0, pos_inds) - 1
    result.pos_gt_labels = assign_result.labels.index_select(0, pos_inds)
    result.pos_gt_bboxes = gt_bboxes.index_select(
        0, result.pos_assigned_gt_inds) if gt_bboxes.numel() else \
        gt_bboxes.view(-1, 4)
    return result
