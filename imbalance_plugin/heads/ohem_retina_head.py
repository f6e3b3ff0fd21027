"""RetinaNet head trained with online hard example mining (the Focal Loss
paper's OHEM baseline, Lin et al., ICCV 2017, Section 5.1, Table 1d).

Settings live in the detector's ``train_cfg``, read once at build time into
:class:`OHEMSettings`; a missing key takes its default (the paper's best
OHEM row, batch 128 at NMS 0.5)::

    train_cfg=dict(..., ohem=dict(num=128, nms_thr=0.5, neg_pos_ratio=None))

* ``num``: anchors per image in the minibatch, an int > 0.
* ``nms_thr``: IoU threshold in (0, 1] of the NMS over the anchors, in order
  of decreasing loss; None for no NMS (plain top-``num`` loss mining).
* ``neg_pos_ratio``: None, or negatives per positive >= 0 (3 is the paper's
  "OHEM 1:3"): at most ``floor(num / (1 + r))`` positives, negatives fill
  the rest.

The selection is :func:`imbalance_plugin.functional.ohem.ohem_select`: every
anchor with label weight > 0 is scored by its ``loss_cls`` summed over the
classes, computed once, unreduced. Then

* ``loss_cls`` = sum of the selected anchors' loss / number of selected
  anchors in the batch (the mean over the minibatch, as OHEM's Fast R-CNN);
* ``loss_bbox`` = ``loss_bbox`` over the selected positives / their number
  (the minibatch's positives, as with mmdet's OHEMSampler, normalised per
  positive as RetinaNet's regression is).

``loss_cls`` must be element-wise and sigmoid (the paper's sigmoid
cross-entropy: the plugin's FocalLoss with ``gamma=0, alpha=None``, or
mmdet's sigmoid CrossEntropyLoss, whose target expansion syncs with the
host). The selection runs without gradient; gradient reaches only the
selected anchors. Host syncs beyond those the Focal Loss head has too
(mmdet's target assignment and its regression losses' check for an empty
weight): one per iteration (the NMS kernel), none with ``nms_thr=None``.
"""
from dataclasses import dataclass
from typing import Optional

from mmdet.models.dense_heads import RetinaHead

from imbalance_plugin.functional.ohem import max_positives, ohem_select
from imbalance_plugin.losses.elementwise_loss import (
    is_elementwise,
    weighted_mean,
)
from imbalance_plugin.registry import MODELS
from imbalance_plugin.structures.box_decoding import regression_input
from imbalance_plugin.structures.sample_batch import dense_batch
from imbalance_plugin.utils.settings import (
    check_int,
    check_number,
    check_optional,
    from_cfg,
)


@dataclass(frozen=True)
class OHEMSettings:
    """``train_cfg.ohem`` (see the module); the defaults are the best OHEM
    row of the paper's Table 1d.

    Attributes:
        num: anchors per image in the minibatch, an integer >= 1.
        nms_thr: IoU threshold in (0, 1] of the NMS over the anchors; None
            for no NMS.
        neg_pos_ratio: negatives per positive, a number >= 0, with
            ``num >= 1 + neg_pos_ratio``; None for no ratio.
    """
    num: int = 128
    nms_thr: Optional[float] = 0.5
    neg_pos_ratio: Optional[float] = None

    def __post_init__(self):
        check_int(self.num, 'num', low=1)
        object.__setattr__(self, 'nms_thr', check_optional(
            check_number, self.nms_thr, 'nms_thr', 'no NMS', low=0, high=1,
            low_open=True))
        ratio = check_optional(check_number, self.neg_pos_ratio,
                               'neg_pos_ratio', 'no ratio', low=0)
        if ratio is not None and max_positives(self.num, ratio) < 1:
            raise ValueError(
                f'neg_pos_ratio={self.neg_pos_ratio!r} leaves no positive in '
                f'a minibatch of num={self.num}; need num >= 1 + '
                'neg_pos_ratio')
        object.__setattr__(self, 'neg_pos_ratio', ratio)

    @classmethod
    def from_train_cfg(cls, train_cfg, where='train_cfg'):
        """``train_cfg.ohem``, the defaults where it or a key is left out.

        Raises:
            ValueError: naming ``<where>.ohem.<key>`` for an unknown key or a
                value out of range.
        """
        return from_cfg(cls, (train_cfg or {}).get('ohem'), f'{where}.ohem')


@MODELS.register_module()
class OHEMRetinaHead(RetinaHead):
    """RetinaHead whose losses cover only the OHEM minibatch of each image
    (``train_cfg.ohem``); inference is RetinaNet's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name = type(self).__name__
        self.ohem = OHEMSettings.from_train_cfg(self.train_cfg,
                                                f'{name}.train_cfg')
        if not (self.use_sigmoid_cls and is_elementwise(self.loss_cls)):
            raise ValueError(
                f'{name}: loss_cls must be an element-wise sigmoid loss '
                '(imbalance_plugin.FocalLoss, or mmdet\'s FocalLoss or '
                'CrossEntropyLoss, with use_sigmoid=True and reduction='
                f'\'mean\'), got {type(self.loss_cls).__name__}')

    def loss_by_feat(self,
                     cls_scores,
                     bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     batch_gt_instances_ignore=None):
        """Classification and regression losses of the OHEM minibatch.

        Args:
            cls_scores (list[Tensor]): per level, (N, A_l * C, H, W).
            bbox_preds (list[Tensor]): per level, (N, A_l * 4, H, W).
            batch_gt_instances (list[InstanceData]): ground truths per image.
            batch_img_metas (list[dict]): image metas.
            batch_gt_instances_ignore (list[InstanceData], optional).

        Returns:
            dict[str, Tensor]: ``loss_cls`` and ``loss_bbox``.
        """
        num_imgs = len(batch_img_metas)
        batch = dense_batch(self, cls_scores, bbox_preds, batch_gt_instances,
                            batch_img_metas, batch_gt_instances_ignore)
        unreduced = self.loss_cls(batch.cls_score, batch.labels,
                                  reduction_override='none')
        # the selection works per image: (N, A) and (N, A, 4)
        anchor_loss = unreduced.detach().reshape(
            num_imgs, -1, self.cls_out_channels).sum(-1)
        positive = batch.positive.view(num_imgs, -1)
        selected = ohem_select(anchor_loss,
                               batch.priors.view(num_imgs, -1, 4),
                               batch.label_weights.view(num_imgs, -1) > 0,
                               positive, num=self.ohem.num,
                               nms_thr=self.ohem.nms_thr,
                               neg_pos_ratio=self.ohem.neg_pos_ratio)
        num_selected = selected.sum().clamp(min=1).float()
        loss_cls = weighted_mean(unreduced, selected.reshape(-1),
                                 num_selected)

        selected_pos = (selected & positive).reshape(-1)
        loss_bbox = self.loss_bbox(
            regression_input(self, batch.priors, batch.bbox_pred),
            batch.bbox_targets,
            batch.bbox_weights * selected_pos[:, None],
            avg_factor=selected_pos.sum().clamp(min=1).float())
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)
