"""Registered Focal Loss module (sigmoid and softmax forms)."""
from typing import Optional, Sequence, Union

from torch import Tensor

from ..functional.focal import check_alpha, focal_loss
from ..registry import MODELS
from ..utils.settings import check_bool, check_int, check_number
from .base import LossModule


@MODELS.register_module()
class FocalLoss(LossModule):
    r"""Focal Loss, ``type='imbalance_plugin.FocalLoss'``.

    :math:`\mathrm{FL} = -\alpha_t (1 - p_t)^\gamma \log p_t`, with
    :math:`p_t = \sigma(x)` per class (``use_sigmoid=True``, RetinaNet, RPN)
    or the softmax probability of the target class over the classes and
    background (``use_sigmoid=False``, e.g. a Faster R-CNN RoI head, whose
    classifier then has C + 1 outputs). See
    :mod:`imbalance_plugin.functional.focal` for the exact formulas.

    Args:
        use_sigmoid: sigmoid (True) or softmax (False) form.
        gamma: focusing parameter, >= 0 (paper: 2).
        alpha: class balance in [0, 1] (paper: 0.25): sigmoid positives weigh
            alpha and negatives 1 - alpha; softmax foreground rows alpha and
            background rows 1 - alpha. A list gives one value per class (C for
            sigmoid; C + 1 for softmax, the weight of each class directly).
            None: no balancing.
        reduction: 'mean', 'sum' or 'none'.
        loss_weight: multiplier of the loss, >= 0.
        num_classes: number of foreground classes C; optional, checked
            against a per-class alpha and against pred.
        activated: pred holds probabilities instead of logits (sigmoid
            only), as mmdet's ``activated``.
        compiled: use the compiled kernels (see
            :mod:`imbalance_plugin.functional.compile`).

    ``forward(pred, target, weight=None, avg_factor=None,
    reduction_override=None)``: pred (N, C) logits (softmax: (N, C + 1));
    target class indices (N,) in [0, C] with background C (softmax: the
    classes of pred; any other index raises), or one-hot of pred's shape;
    sigmoid also takes dense logits such as (B, C, H, W) with a target (and
    weight) of the same shape, as mmdet's FocalLoss does; weight per row (N,)
    or per element; 'mean' divides the weighted sum by avg_factor when
    given, else by the number of elements.
    """

    settings = ('use_sigmoid', 'gamma', 'alpha', 'activated')

    def __init__(self,
                 use_sigmoid: bool = True,
                 gamma: float = 2.0,
                 alpha: Optional[Union[float, Sequence[float]]] = 0.25,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 num_classes: Optional[int] = None,
                 activated: bool = False,
                 compiled: bool = True):
        super().__init__(reduction, loss_weight, compiled)
        self.use_sigmoid = check_bool(use_sigmoid, 'use_sigmoid')
        self.activated = check_bool(activated, 'activated')
        if activated and not use_sigmoid:
            raise ValueError('activated=True (pred holds probabilities) '
                             'needs use_sigmoid=True')
        self.gamma = check_number(gamma, 'gamma', low=0)
        if num_classes is not None:
            num_classes = check_int(num_classes, 'num_classes')
        self.num_classes = num_classes
        channels = None
        if num_classes is not None:
            channels = num_classes if use_sigmoid else num_classes + 1
        alpha = check_alpha(alpha, channels)
        if isinstance(alpha, Tensor):
            self.register_buffer('alpha', alpha, persistent=False)
        else:
            self.alpha = alpha

    def loss(self, pred, target, weight, avg_factor, reduction):
        if self.num_classes is not None and pred.dim() >= 2:
            channels = self.num_classes + (0 if self.use_sigmoid else 1)
            if pred.shape[1] != channels:
                raise ValueError(
                    f'pred has {pred.shape[1]} class channels, expected '
                    f'{channels} for num_classes={self.num_classes} '
                    f'(use_sigmoid={self.use_sigmoid})')
        return focal_loss(pred, target, weight, gamma=self.gamma,
                          alpha=self.alpha, use_sigmoid=self.use_sigmoid,
                          reduction=reduction, avg_factor=avg_factor,
                          activated=self.activated, compiled=self.compiled)
