"""decode_delta_xywh against mmdet 3.3.0's DeltaXYWHBBoxCoder.decode: the
boxes must be bit for bit the coder's, since NMS-match thresholds them and
ISR-P ranks their IoU."""
import pytest
import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

from imbalance_plugin.functional.delta_xywh import decode_delta_xywh

CODER_SETTINGS = [
    dict(),
    dict(target_means=[0.1, -0.2, 0.05, 0.], target_stds=[0.1, 0.1, 0.2,
                                                           0.2]),
    dict(add_ctr_clamp=True, ctr_clamp=16),
]


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('coder_kwargs', CODER_SETTINGS)
@pytest.mark.parametrize('n', [1, 7, 1001, 4099])
def test_matches_mmdet_coder_exactly(dtype, coder_kwargs, n):
    g = torch.Generator().manual_seed(n)
    priors = torch.rand(n, 4, generator=g, dtype=dtype) * 500
    priors[:, 2:] += priors[:, :2] + 1
    # Wide enough that the size and centre clamps are hit.
    deltas = torch.randn(n, 4, generator=g, dtype=dtype) * 4
    coder = DeltaXYWHBBoxCoder(**coder_kwargs)
    boxes = decode_delta_xywh(priors, deltas, coder.means, coder.stds,
                              add_ctr_clamp=coder.add_ctr_clamp,
                              ctr_clamp=coder.ctr_clamp)
    assert boxes.dtype == priors.dtype and boxes.shape == (n, 4)
    assert torch.equal(boxes, coder.decode(priors, deltas))


def test_non_contiguous_inputs():
    g = torch.Generator().manual_seed(0)
    priors = torch.rand(4, 50, generator=g) * 300
    priors[2:] += priors[:2] + 1
    deltas = torch.randn(8, 50, generator=g)[::2]
    expected = DeltaXYWHBBoxCoder().decode(priors.t().contiguous(),
                                           deltas.t().contiguous())
    assert torch.equal(decode_delta_xywh(priors.t(), deltas.t()), expected)


def test_empty():
    boxes = decode_delta_xywh(torch.zeros(0, 4), torch.zeros(0, 4))
    assert boxes.shape == (0, 4) and boxes.dtype == torch.float32
