"""Extra loss calls for PISA's weights, without side effects on the loss.

ISR-P and ISR-N renormalise their weights with the head's own classification
loss, called once more with ``reduction_override='none'``; CARL calls the
head's regression loss once more per positive. A stateful loss (GHM's moving
gradient-density histogram) must not count these extra calls as training
batches, so its buffers are restored after them.
"""
from contextlib import contextmanager

import torch


@contextmanager
def preserved_buffers(module):
    """Restores every buffer of ``module`` to its value on entry."""
    saved = [(buf, buf.clone()) for buf in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)


def unreduced_loss(loss_module, pred, target):
    """``loss_module(pred, target, reduction_override='none')``, no gradient,
    no change to the module's buffers.

    Args:
        loss_module (nn.Module): an mmdet-style loss.
        pred (Tensor): (n, C) predictions. target (Tensor): (n,) targets.

    Returns:
        Tensor: the unreduced loss, (n,) or (n, C).
    """
    with torch.no_grad(), preserved_buffers(loss_module):
        return loss_module(pred, target, reduction_override='none')
