"""isr_p_label_weights against mmdet 3.3.0's isr_p, on one- and two-stage
batches, class-agnostic and class-specific deltas."""
import pytest
import torch
from mmdet.models.losses import CrossEntropyLoss, FocalLoss
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

from imbalance_plugin.heads.isr_p import (
    gt_groups_of,
    isr_p_label_weights,
    positives_loss,
)
from imbalance_plugin.structures.positives import positive_indices
from tests.functional.test_pisa import SEEDS, mmdet_weights, random_batch


@pytest.mark.parametrize('sigmoid', [True, False])
@pytest.mark.parametrize('two_stage,class_specific', [(True, True),
                                                       (True, False),
                                                       (False, False)])
def test_isr_p_label_weights_matches_mmdet(sigmoid, two_stage,
                                           class_specific):
    # Label weights in [0.5, 1]; the positives' loss either from the extra
    # call on the positives or from the rows of the loss of all samples.
    loss_cls = FocalLoss(use_sigmoid=True) if sigmoid else \
        CrossEntropyLoss()
    coder = DeltaXYWHBBoxCoder(target_stds=[0.1, 0.1, 0.2, 0.2])
    for seed in SEEDS:
        batch = random_batch(seed, two_stage=two_stage, sigmoid=sigmoid,
                             class_specific=class_specific)
        rois = batch['rois'][:, -4:]
        labels = batch['labels']
        pos_inds = positive_indices(labels, batch['num_classes'])
        extra_call = positives_loss(loss_cls, batch['cls_score'], labels,
                                    pos_inds)
        all_rows = loss_cls(batch['cls_score'], labels,
                            reduction_override='none')[pos_inds]
        args = (batch['bbox_pred'], rois, labels, batch['label_weights'])
        groups = gt_groups_of(batch['sampling_results'])
        expected = mmdet_weights(batch, loss_cls, coder, 2., 0.1)
        for pos_loss in (extra_call, all_rows):
            got = isr_p_label_weights(pos_inds, pos_loss, *args,
                                      batch['bbox_targets'], groups, coder,
                                      k=2., bias=0.1)
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
        # Targets given as boxes (reg_decoded_bbox) weight the same.
        pos = labels < batch['num_classes']
        boxes = batch['bbox_targets'].clone()
        boxes[pos] = coder.decode(rois[pos], boxes[pos])
        decoded = isr_p_label_weights(pos_inds, extra_call, *args, boxes,
                                      groups, coder, reg_decoded_bbox=True,
                                      k=2., bias=0.1)
        torch.testing.assert_close(decoded, got, rtol=1e-6, atol=1e-7)
