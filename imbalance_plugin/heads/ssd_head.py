"""SSD's head (Liu et al., ECCV 2016) as mmdet 3.3.0 has it, able to predict.

mmdet 3.3.0's ``BaseDenseHead._predict_by_feat_single`` reads
``self.loss_cls`` to ask whether the classification loss brings its own
activation; ``SSDHead`` never sets it, since SSD computes its cross-entropy
inline, so every test or inference of mmdet's SSD stops with
``AttributeError: 'SSDHead' object has no attribute 'loss_cls'``
(open-mmlab/mmdetection#11305, #11780). This head is mmdet's with
``loss_cls = None``: scores are then the softmax of SSD's ``C + 1`` logits
without the background column, as mmdet intends for SSD. Training is
mmdet's, unchanged, so checkpoints load either way.
"""
from mmdet.models.dense_heads import SSDHead as MMDetSSDHead

from imbalance_plugin.registry import MODELS


@MODELS.register_module()
class SSDHead(MMDetSSDHead):
    """mmdet's ``SSDHead`` with ``loss_cls = None`` so that it predicts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_cls = None
