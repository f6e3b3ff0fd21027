"""decode: the lean formula for mmdet's DeltaXYWHBBoxCoder, the coder itself
for any other."""
import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

from imbalance_plugin.samplers.box_decoding import decode


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
