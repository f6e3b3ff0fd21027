"""A classification loss computed once unreduced and weighted afterwards.

For an element-wise loss (each element depends on its own prediction and
target only, the label weights just multiply it), giving the weights to the
loss equals weighting its unreduced form ``l`` ((n,) for softmax losses,
(n, C) for sigmoid ones, ``loss_weight`` included):

    loss(x, y, w, avg_factor) = sum_i w_i * sum_c l(x, y)_ic / avg_factor

So a head can compute ``l`` once, with gradient, read the positives' rows of
it for ISR-P's renormalisation and reduce it with the new weights, instead
of calling the loss a second time. Not element-wise here: the plugin's GHM-C
(its weights depend on the gradient density of the samples with weight > 0,
and it updates a moving histogram) and any loss not listed below.
"""
from mmdet.models.losses import CrossEntropyLoss as MMDetCrossEntropyLoss
from mmdet.models.losses import FocalLoss as MMDetFocalLoss

from imbalance_plugin.functional.reduction import reduce_loss
from imbalance_plugin.losses.focal_loss import FocalLoss

ELEMENTWISE_LOSSES = (MMDetFocalLoss, MMDetCrossEntropyLoss, FocalLoss)


def is_elementwise(loss_module):
    """Whether ``loss_module`` with weights equals its unreduced form times
    the weights, reduced by the mean over ``avg_factor``.

    True for exactly the classes in ``ELEMENTWISE_LOSSES`` (a subclass may
    change the forward) with ``reduction='mean'``, mmdet's cross-entropy not
    in its mask form.
    """
    return (type(loss_module) in ELEMENTWISE_LOSSES
            and loss_module.reduction == 'mean'
            and not getattr(loss_module, 'use_mask', False))


def weighted_mean(unreduced, weights, avg_factor):
    """``sum_i w_i * sum_c l_ic / (avg_factor + eps)``, the mean reduction
    of mmdet's losses (eps the float32 machine epsilon).

    Args:
        unreduced (Tensor): (n,) or (n, C) unreduced loss.
        weights (Tensor): (n,) label weights.
        avg_factor (float or Tensor): normaliser.

    Returns:
        Tensor: 0-dim loss.
    """
    # w @ l sums over the samples without an (n, C) weighted copy of l.
    weighted_sum = (weights.to(unreduced.dtype) @ unreduced).sum()
    return reduce_loss(weighted_sum, 'mean', avg_factor)
