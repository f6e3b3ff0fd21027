"""class_deltas, decode (the lean formula for mmdet's DeltaXYWHBBoxCoder, the
coder itself for any other) and regression_input."""
from types import SimpleNamespace

import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

from imbalance_plugin.structures.box_decoding import (
    class_deltas,
    decode,
    regression_input,
)


def _inputs(n=9):
    g = torch.Generator().manual_seed(0)
    priors = torch.rand(n, 4, generator=g) * 50
    priors[:, 2:] += priors[:, :2] + 1
    return priors, torch.randn(n, 4, generator=g) * 3


def test_delta_xywh_coder_exactly():
    priors, deltas = _inputs(1001)
    coder = DeltaXYWHBBoxCoder(target_stds=[0.1, 0.1, 0.2, 0.2],
                               add_ctr_clamp=True, ctr_clamp=8)
    assert torch.equal(decode(coder, priors, deltas),
                       coder.decode(priors, deltas))


class _ShiftedCoder(DeltaXYWHBBoxCoder):
    """Another coder: decode must call it, not the DeltaXYWH formula."""

    def decode(self, bboxes, pred_bboxes, max_shape=None,
               wh_ratio_clip=16 / 1000):
        return super().decode(bboxes, pred_bboxes) + 1


def test_calls_any_other_coder():
    priors, deltas = _inputs()
    coder = _ShiftedCoder()
    boxes = decode(coder, priors, deltas)
    assert type(boxes) is torch.Tensor
    assert torch.equal(boxes, coder.decode(priors, deltas))


def test_box_type_coder_gives_a_tensor():
    priors, deltas = _inputs()
    coder = DeltaXYWHBBoxCoder(use_box_type=True)
    boxes = decode(_Subclass(use_box_type=True), priors, deltas)
    assert type(boxes) is torch.Tensor
    assert torch.equal(boxes, coder.decode(priors, deltas).tensor)


class _Subclass(DeltaXYWHBBoxCoder):
    """A subclass may change decode: it goes through the coder."""


def test_class_deltas_of_class_specific_predictions():
    g = torch.Generator().manual_seed(1)
    bbox_pred = torch.randn(6, 4 * 3, generator=g)
    rows, classes = torch.tensor([5, 0, 2, 2]), torch.tensor([1, 2, 0, 2])
    expected = torch.stack([
        bbox_pred[r, 4 * c:4 * c + 4]
        for r, c in zip(rows.tolist(), classes.tolist())
    ])
    assert torch.equal(class_deltas(bbox_pred, rows, classes), expected)


def test_class_deltas_of_class_agnostic_predictions():
    bbox_pred = torch.arange(24.).view(6, 4)
    rows = torch.tensor([3, 1])
    # The classes are not read: any value, even one past the last class.
    got = class_deltas(bbox_pred, rows, torch.tensor([7, 9]))
    assert torch.equal(got, bbox_pred[rows])


def test_regression_input_decodes_only_with_reg_decoded_bbox():
    priors, deltas = _inputs()
    coder = DeltaXYWHBBoxCoder()
    head = SimpleNamespace(bbox_coder=coder, reg_decoded_bbox=False)
    assert regression_input(head, priors, deltas) is deltas
    head.reg_decoded_bbox = True
    deltas.requires_grad_()
    boxes = regression_input(head, priors, deltas)
    assert torch.equal(boxes, coder.decode(priors, deltas))
    boxes.sum().backward()
    assert deltas.grad is not None and deltas.grad.abs().sum() > 0
