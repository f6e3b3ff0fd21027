"""The PISA step every PISA head takes (Cao et al., CVPR 2020).

A PISA head (RetinaNet, SSD, RoI) reads ISR-P and CARL from its
``train_cfg`` as mmdet's PISA configs write them; a part left out (or None)
is switched off, a key left out of a part takes its default::

    train_cfg=dict(..., isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))

:meth:`PISASettings.from_train_cfg` reads both parts once, at build time,
into :class:`PowerMap` settings (:class:`ISRMap`, :class:`CARLMap`), and
refuses unknown keys and out-of-range values by name. Each head's loss then
reads::

    batch = dense_batch(...)        # an RoI head builds its SampleBatch
    label_weights, isr_p_weights = isr_p(batch, head, settings.isr)
    ...                             # the head's own losses, label_weights
    carl_losses, carl_weights = carl(batch, head, settings.carl)
    log_pisa_weights(module, isr_p=isr_p_weights, carl=carl_weights)

* :func:`isr_p`: the positives' label weights by IoU-HLR, renormalised to
  keep their classification loss sum (:mod:`imbalance_plugin.heads.isr_p`);
* :func:`carl`: ``loss_carl = sum_i w_i * L_i / avg_factor`` over the
  positives, ``L_i`` the head's unreduced regression loss and
  ``w = (bias + (1 - bias) * s) ** k`` normalised to mean 1, ``s`` the
  positive's probability of its class (the gradient reaches the classifier);
* :func:`log_pisa_weights`: the weights of the step, in the attribute
  :data:`PISA_WEIGHTS_ATTRIBUTE` (a dict keyed by :data:`PISA_WEIGHT_KINDS`)
  where :class:`~imbalance_plugin.hooks.GradientDensityHook` reads them.

A part that is off leaves the label weights as they are, adds no loss and
logs nothing.
"""
from dataclasses import dataclass
from typing import Optional

import torch

from imbalance_plugin.functional.pisa import carl_loss, carl_weights
from imbalance_plugin.heads.isr_p import (
    gt_groups_of,
    isr_p_label_weights,
    positives_loss,
)
from imbalance_plugin.losses.unreduced_loss import preserved_buffers
from imbalance_plugin.structures.box_decoding import (
    class_deltas,
    regression_input,
)
from imbalance_plugin.utils.settings import check_number, from_cfg

#: Attribute in which a head exposes the PISA weights of its last step.
PISA_WEIGHTS_ATTRIBUTE = 'last_pisa_weights'
#: Keys of that attribute's dict: ISR-P, ISR-N and CARL weights.
PISA_WEIGHT_KINDS = ('isr_p', 'isr_n', 'carl')


@dataclass(frozen=True)
class PowerMap:
    """PISA's importance map ``(bias + (1 - bias) * u) ** k`` of ``u`` in
    [0, 1].

    Attributes:
        k: the power, a number >= 0.
        bias: the shift, a number in [0, 1).
    """
    k: float
    bias: float

    def __post_init__(self):
        check_number(self.k, 'k', low=0)
        check_number(self.bias, 'bias', low=0, high=1, high_open=True)


@dataclass(frozen=True)
class ISRMap(PowerMap):
    """ISR-P's map, by default the paper's and mmdet's ``isr_p``: k = 2,
    bias = 0."""
    k: float = 2.
    bias: float = 0.


@dataclass(frozen=True)
class CARLMap(PowerMap):
    """CARL's map, by default the paper's and mmdet's ``carl_loss``: k = 1,
    bias = 0.2."""
    k: float = 1.
    bias: float = 0.2


@dataclass(frozen=True)
class PISASettings:
    """The PISA parts a head applies; a part that is None is off.

    Attributes:
        isr: ISR-P's map of the positives' IoU-HLR.
        carl: CARL's map of the positives' classification scores.
    """
    isr: Optional[PowerMap] = None
    carl: Optional[PowerMap] = None

    @classmethod
    def from_train_cfg(cls, train_cfg, where='train_cfg'):
        """The parts ``isr`` and ``carl`` of a head's ``train_cfg``; its
        other keys (the assigner, the sampler, ...) are the head's own.

        Args:
            train_cfg (dict or None): the head's training settings; None
                (a head built for inference) turns both parts off.
            where (str): ``train_cfg``'s name in the error messages, e.g.
                ``'PISARoIHead.train_cfg'``.

        Raises:
            ValueError: naming ``<where>.<part>.<key>`` for a key other than
                ``k`` and ``bias``, for ``k < 0`` or ``bias`` outside
                [0, 1).
        """
        train_cfg = train_cfg or {}

        def part(name, map_cls):
            raw = train_cfg.get(name)
            return None if raw is None else from_cfg(map_cls, raw,
                                                     f'{where}.{name}')

        return cls(isr=part('isr', ISRMap), carl=part('carl', CARLMap))


def isr_p(batch, head, weight_map, cls_loss=None):
    """ISR-P on the positives of ``batch``.

    Args:
        batch (SampleBatch): the head's samples.
        head: an mmdet ``AnchorHead`` or ``BBoxHead``; its ``bbox_coder``
            and ``reg_decoded_bbox`` decode the positives' deltas, its
            ``loss_cls`` gives their loss unless ``cls_loss`` does.
        weight_map (PowerMap or None): ISR-P's map
            (:attr:`PISASettings.isr`); None: ISR-P is off.
        cls_loss (Tensor, optional): (n,) unreduced classification loss of
            every sample, for a head that computes it anyway (SSD): the
            positives' rows are read instead of calling ``loss_cls`` again.

    Returns:
        tuple[Tensor, Tensor or None]: the (n,) label weights
        (``batch.label_weights`` when off) and the weights to log, (n,) and
        NaN but at the positives (None when off).
    """
    if weight_map is None:
        return batch.label_weights, None
    pos_inds = batch.pos_inds
    if cls_loss is None:
        pos_loss = positives_loss(head.loss_cls, batch.cls_score,
                                  batch.labels, pos_inds)
    else:
        pos_loss = cls_loss.index_select(0, pos_inds)
    label_weights = isr_p_label_weights(
        pos_inds, pos_loss, batch.bbox_pred, batch.priors, batch.labels,
        batch.label_weights, batch.bbox_targets,
        gt_groups_of(batch.sampling_results), head.bbox_coder,
        head.reg_decoded_bbox, k=weight_map.k, bias=weight_map.bias)
    return label_weights, weights_where(batch.positive, label_weights)


def carl(batch, head, weight_map, reg_loss=None):
    """CARL on the positives of ``batch`` (see the module).

    Args:
        batch (SampleBatch): the head's samples; ``avg_factor`` normalises.
        head: an mmdet ``AnchorHead`` or ``BBoxHead``; its classifier's
            activation (sigmoid or softmax) gives the scores, its
            ``loss_bbox`` the regression loss (on each positive's deltas of
            its class, decoded with ``reg_decoded_bbox``) unless
            ``reg_loss`` does.
        weight_map (PowerMap or None): CARL's map
            (:attr:`PISASettings.carl`); None: CARL is off.
        reg_loss (Tensor, optional): (n, 4) unreduced regression loss of
            every sample, for a head that computes it anyway (SSD).

    Returns:
        tuple[dict, Tensor or None]: ``{'loss_carl': (1,) loss}`` and the
        (p,) CARL weights, detached; ``{}`` and None when off.
    """
    if weight_map is None:
        return {}, None
    pos_inds = batch.pos_inds
    pos_labels = batch.labels.index_select(0, pos_inds)
    if reg_loss is None:
        pred = regression_input(
            head, batch.priors.index_select(0, pos_inds),
            class_deltas(batch.bbox_pred, pos_inds, pos_labels))
        # Not a training call of a stateful loss (GHM-R).
        with preserved_buffers(head.loss_bbox):
            reg_loss = head.loss_bbox(
                pred, batch.bbox_targets.index_select(0, pos_inds),
                reduction_override='none')
    else:
        reg_loss = reg_loss.index_select(0, pos_inds)
    scores = batch.cls_score.index_select(0, pos_inds)
    scores = scores.sigmoid() if _uses_sigmoid(head) else scores.softmax(-1)
    scores = scores.gather(1, pos_labels[:, None]).squeeze(1)
    k, bias = weight_map.k, weight_map.bias
    return (dict(loss_carl=carl_loss(scores, reg_loss, batch.avg_factor,
                                     k=k, bias=bias)),
            carl_weights(scores.detach(), k=k, bias=bias))


def log_pisa_weights(module, isr_p=None, isr_n=None, carl=None):
    """Keeps the weights of this step in ``module``'s
    :data:`PISA_WEIGHTS_ATTRIBUTE`, detached; a part given as None (off) is
    left out.

    Args:
        isr_p, isr_n (Tensor, optional): (n,) weight of every sample, NaN
            where the part does not weight (:func:`weights_where`).
        carl (Tensor, optional): (p,) weight of every positive.
    """
    weights = dict(isr_p=isr_p, isr_n=isr_n, carl=carl)
    setattr(module, PISA_WEIGHTS_ATTRIBUTE, {
        kind: value.detach()
        for kind, value in weights.items() if value is not None
    })


def weights_where(mask, weights):
    """``weights`` where ``mask`` holds, NaN elsewhere, detached.

    The form in which :func:`log_pisa_weights` keeps the ISR-P and ISR-N
    weights: NaN marks the elements a part does not weight, so no
    data-dependent indexing (and no host sync) is needed.
    """
    return torch.where(mask, weights, float('nan')).detach()


def _uses_sigmoid(head):
    """Whether ``head`` classifies with sigmoids: an ``AnchorHead`` says so
    in ``use_sigmoid_cls``, a ``BBoxHead`` in its ``loss_cls``."""
    if hasattr(head, 'use_sigmoid_cls'):
        return head.use_sigmoid_cls
    return getattr(head.loss_cls, 'use_sigmoid', False)
