"""weighted_mean of the unreduced loss against the loss given the weights."""
import pytest
import torch
from mmdet.models.losses import CrossEntropyLoss, FocalLoss

from imbalance_plugin.losses import GHMC
from imbalance_plugin.losses import FocalLoss as PluginFocalLoss
from imbalance_plugin.losses.elementwise_loss import (
    is_elementwise,
    weighted_mean,
)

NUM_CLASSES = 6

LOSSES = {
    'mmdet-focal': (lambda: FocalLoss(loss_weight=1.5), True),
    'mmdet-ce-softmax': (lambda: CrossEntropyLoss(loss_weight=0.5), False),
    'mmdet-ce-sigmoid': (lambda: CrossEntropyLoss(use_sigmoid=True), True),
    'focal-sigmoid': (lambda: PluginFocalLoss(loss_weight=2., compiled=False),
                      True),
    'focal-softmax': (lambda: PluginFocalLoss(use_sigmoid=False,
                                              compiled=False), False),
}


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_weighted_mean_equals_loss_with_weights(name):
    make, sigmoid = LOSSES[name]
    loss_fn = make()
    assert is_elementwise(loss_fn)
    g = torch.Generator().manual_seed(0)
    n = 50
    channels = NUM_CLASSES if sigmoid else NUM_CLASSES + 1
    labels = torch.randint(NUM_CLASSES + 1, (n, ), generator=g)
    weights = torch.rand(n, generator=g) * 2
    weights[:5] = 0
    avg_factor = 17.
    score = torch.randn(n, channels, generator=g)
    a = score.clone().requires_grad_()
    expected = loss_fn(a, labels, weights, avg_factor=avg_factor)
    expected.backward()
    b = score.clone().requires_grad_()
    got = weighted_mean(loss_fn(b, labels, reduction_override='none'),
                        weights, avg_factor)
    got.backward()
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(b.grad, a.grad, rtol=1e-6, atol=1e-8)


class _SubclassedFocal(FocalLoss):
    pass


@pytest.mark.parametrize('loss_fn', [
    GHMC(compiled=False),
    GHMC(use_sigmoid=False, compiled=False),
    FocalLoss(reduction='sum'),
    CrossEntropyLoss(use_mask=True),
    _SubclassedFocal(),
], ids=['ghmc-sigmoid', 'ghmc-softmax', 'sum', 'mask-ce', 'subclass'])
def test_not_elementwise(loss_fn):
    assert not is_elementwise(loss_fn)
