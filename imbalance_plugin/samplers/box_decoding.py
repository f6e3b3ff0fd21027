"""Boxes from a head's box coder, with the lean path for mmdet's default.

Score-HLR (the sampler) and ISR-P (the heads) decode the predicted deltas of
their samples with the head's coder. For mmdet's ``DeltaXYWHBBoxCoder`` that
is :func:`~imbalance_plugin.functional.delta_xywh.decode_delta_xywh`, bit for
bit the coder's in about half the operations; any other coder decodes itself.
"""
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.structures.bbox import get_box_tensor

from imbalance_plugin.functional.delta_xywh import decode_delta_xywh


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
