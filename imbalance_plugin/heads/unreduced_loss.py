"""Per-sample loss values for PISA's weights, without side effects on the loss.

ISR-P and ISR-N renormalise their weights with the head's own loss, called
once more with ``reduction_override='none'``. A stateful loss (GHM's moving
gradient-density histogram) must not count that extra call as a training
batch, so its buffers are restored afterwards.
"""
import torch


def unreduced_loss(loss_module, pred, target, **kwargs):
    """``loss_module(pred, target, reduction_override='none')`` under no_grad.

    The module's buffers are restored to their values before the call.

    Args:
        loss_module (nn.Module): an mmdet-style loss.
        pred (Tensor): (n, C) predictions. target (Tensor): (n,) targets.

    Returns:
        Tensor: the unreduced loss, (n,) or (n, C).
    """
    saved = [(buf, buf.clone()) for buf in loss_module.buffers()]
    with torch.no_grad():
        loss = loss_module(pred, target, reduction_override='none', **kwargs)
        for buf, value in saved:
            buf.copy_(value)
    return loss
