"""From a head's predicted box deltas to boxes.

A head predicts 4 deltas per sample, or 4 per class (a class-specific RoI
head, ``(n, 4 * C)``): :func:`class_deltas` takes one class's deltas per
sample, the positives' own class (ISR-P, CARL) or a negative's best class
(Score-HLR).

:func:`decode` gives the boxes ISR-P and Score-HLR rank, from detached
deltas: for mmdet's ``DeltaXYWHBBoxCoder`` by
:func:`~imbalance_plugin.functional.delta_xywh.decode_delta_xywh`, bit for
bit the coder's with fewer operations; any other coder decodes itself.

:func:`regression_input` is what a head's ``loss_bbox`` compares with its
targets: the deltas, or with ``reg_decoded_bbox`` the boxes the head's coder
decodes from them, with gradient.
"""
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.structures.bbox import get_box_tensor

from imbalance_plugin.functional.delta_xywh import decode_delta_xywh


def class_deltas(bbox_pred, rows, classes):
    """The deltas of class ``classes[i]`` of sample ``rows[i]``.

    Args:
        bbox_pred (Tensor): (n, 4) class-agnostic or (n, 4 * C)
            class-specific deltas.
        rows (Tensor): (m,) int64 sample indices.
        classes (Tensor): (m,) int64 class of each, in [0, C) (not read for
            class-agnostic deltas).

    Returns:
        Tensor: (m, 4); class-specific deltas are rows ``row * C + class`` of
        the (n * C, 4) view.
    """
    per_sample = bbox_pred.size(-1) // 4
    if per_sample == 1:
        return bbox_pred.index_select(0, rows)
    return bbox_pred.reshape(-1, 4).index_select(0,
                                                 rows * per_sample + classes)


def decode(coder, priors, deltas):
    """``coder.decode(priors, deltas)`` as an (n, 4) box tensor.

    Args:
        coder: a box coder of mmdet's interface.
        priors (Tensor): (n, 4) prior boxes. deltas (Tensor): (n, 4).
    """
    if type(coder) is DeltaXYWHBBoxCoder:
        return decode_delta_xywh(priors, deltas, coder.means, coder.stds,
                                 add_ctr_clamp=coder.add_ctr_clamp,
                                 ctr_clamp=coder.ctr_clamp)
    return get_box_tensor(coder.decode(priors, deltas))


def regression_input(head, priors, bbox_pred):
    """``bbox_pred``, or with ``head.reg_decoded_bbox`` the boxes
    ``head.bbox_coder`` decodes from it (differentiable): (n, 4), (n, 4) ->
    (n, 4).

    Args:
        head: an mmdet ``AnchorHead`` or ``BBoxHead``.
    """
    if not head.reg_decoded_bbox:
        return bbox_pred
    return get_box_tensor(head.bbox_coder.decode(priors, bbox_pred))
