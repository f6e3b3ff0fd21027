"""decode_delta_xywh (numpy and torch) against mmdet 3.3.0's
DeltaXYWHBBoxCoder.decode: the boxes must be bit for bit the coder's, since
NMS-match thresholds them and ISR-P ranks their IoU."""
import numpy as np
import pytest
import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

from imbalance_plugin.functional.delta_xywh import (decode,
                                                   decode_delta_xywh)


@pytest.mark.parametrize('kind', ['numpy', 'torch'])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('coder_kwargs', [
    dict(),
    dict(target_means=[0.1, -0.2, 0.05, 0.], target_stds=[0.1, 0.1, 0.2,
                                                           0.2]),
    dict(add_ctr_clamp=True, ctr_clamp=16),
])
@pytest.mark.parametrize('n', [1, 7, 1001, 4099])
def test_matches_mmdet_coder_exactly(kind, dtype, coder_kwargs, n):
    g = torch.Generator().manual_seed(n)
    priors = torch.rand(n, 4, generator=g, dtype=dtype) * 500
    priors[:, 2:] += priors[:, :2] + 1
    # Wide enough that the size and centre clamps are hit.
    deltas = torch.randn(n, 4, generator=g, dtype=dtype) * 4
    coder = DeltaXYWHBBoxCoder(**coder_kwargs)
    expected = coder.decode(priors, deltas).numpy()
    if kind == 'numpy':
        priors, deltas = priors.numpy(), deltas.numpy()
    boxes = decode_delta_xywh(priors, deltas, coder.means, coder.stds,
                              add_ctr_clamp=coder.add_ctr_clamp,
                              ctr_clamp=coder.ctr_clamp)
    assert isinstance(boxes, type(priors))
    assert boxes.dtype == priors.dtype and boxes.shape == (n, 4)
    np.testing.assert_array_equal(np.asarray(boxes), expected)
    np.testing.assert_array_equal(np.asarray(decode(coder, priors, deltas)),
                                  expected)


class _ShiftedCoder(DeltaXYWHBBoxCoder):
    """Another coder: decode must call it, not the DeltaXYWH formula."""

    def decode(self, bboxes, pred_bboxes, max_shape=None,
               wh_ratio_clip=16 / 1000):
        return super().decode(bboxes, pred_bboxes) + 1


@pytest.mark.parametrize('kind', ['numpy', 'torch'])
def test_decode_calls_any_other_coder(kind):
    g = torch.Generator().manual_seed(0)
    priors = torch.rand(9, 4, generator=g) * 50
    priors[:, 2:] += priors[:, :2] + 1
    deltas = torch.randn(9, 4, generator=g)
    coder = _ShiftedCoder()
    expected = coder.decode(priors, deltas).numpy()
    if kind == 'numpy':
        priors, deltas = priors.numpy(), deltas.numpy()
    boxes = decode(coder, priors, deltas)
    assert isinstance(boxes, type(priors))
    np.testing.assert_array_equal(np.asarray(boxes), expected)


def test_empty():
    boxes = decode_delta_xywh(np.zeros((0, 4), np.float32),
                              np.zeros((0, 4), np.float32))
    assert boxes.shape == (0, 4) and boxes.dtype == np.float32
