"""Focal, GHM-C and GHM-R against mmdet 3.3.0's and the plain losses.

Each side runs one forward and backward (``torch.autograd.grad``, so no side
pays for accumulating into ``.grad``) on inputs made beforehand, shaped like
one RetinaNet batch:

* classification: 50,000 anchors x 80 classes, float32 logits drawn around
  RetinaNet's prior bias (N(-4.6, 1): most anchors are easy negatives, so
  most gradient norms share the first region), class-index targets
  (background = 80, about 1% foreground), label weights with about 5%
  ignored anchors; plain = ``binary_cross_entropy_with_logits`` (mean)
  against the float one-hot target.
* regression: 100,000 x 4 deltas, weights on the ~2% positive anchors;
  plain = ``smooth_l1_loss`` (mean, beta 1/9 as RetinaNet's config).
* softmax focal (no mmdet counterpart): a Faster R-CNN RoI batch, 1,024 x
  81; plain = ``cross_entropy``.
* the check of the class indices (each in [0, C], a device-side assertion):
  ``focal_loss`` as the module calls it (argument checks and label check)
  against the same loss past its checks, on the classification batch.

The settings are those of the shipped configs: Focal gamma 2, alpha 0.25;
GHM-C bins 30, momentum 0.75; GHM-R mu 0.02, bins 10, momentum 0.7. Ours
runs its compiled kernels (the default); the "1st call" column is the
compilation (or the on-disk cache lookup when a previous process compiled
the same kernels).
"""
import torch
import torch.nn.functional as F
from mmdet.models.losses import GHMC as MMDetGHMC
from mmdet.models.losses import GHMR as MMDetGHMR
from mmdet.models.losses import FocalLoss as MMDetFocalLoss

from benchmarks import Case
from imbalance_plugin.functional.focal import _focal_loss, focal_loss
from imbalance_plugin.losses import GHMC, GHMR, FocalLoss

ANCHORS, CLASSES = 50_000, 80
BOXES = 100_000
ROIS = 1_024


def _step(loss_fn, pred, *args, **kwargs):
    def run():
        loss = loss_fn(pred, *args, **kwargs)
        return torch.autograd.grad(loss, pred)
    return run


def _classification(device):
    g = torch.Generator().manual_seed(0)
    pred = (torch.randn(ANCHORS, CLASSES, generator=g) - 4.6).to(device)
    labels = torch.randint(0, 100 * CLASSES, (ANCHORS,), generator=g)
    labels = labels.clamp(max=CLASSES).to(device)
    label_weights = (torch.rand(ANCHORS, generator=g) > 0.05).float()
    onehot = F.one_hot(labels, CLASSES + 1)[:, :CLASSES].float()
    avg_factor = float((labels < CLASSES).sum())
    return (pred.requires_grad_(), labels, label_weights.to(device),
            onehot.to(device), avg_factor)


def _regression(device):
    g = torch.Generator().manual_seed(1)
    pred = (0.3 * torch.randn(BOXES, 4, generator=g)).to(device)
    target = (0.3 * torch.randn(BOXES, 4, generator=g)).to(device)
    positive = (torch.rand(BOXES, 1, generator=g) < 0.02).float()
    weights = positive.expand(BOXES, 4).contiguous().to(device)
    return pred.requires_grad_(), target, weights


def cases(device):
    pred, labels, label_weights, onehot, avg_factor = _classification(device)
    bce = _step(F.binary_cross_entropy_with_logits, pred, onehot)

    focal = FocalLoss(gamma=2.0, alpha=0.25).to(device)
    mmdet_focal = MMDetFocalLoss(use_sigmoid=True, gamma=2.0, alpha=0.25)
    ghmc = GHMC(bins=30, momentum=0.75).to(device)
    mmdet_ghmc = MMDetGHMC(bins=30, momentum=0.75).to(device)

    reg_pred, reg_target, reg_weights = _regression(device)
    ghmr = GHMR(mu=0.02, bins=10, momentum=0.7, loss_weight=10.0).to(device)
    mmdet_ghmr = MMDetGHMR(mu=0.02, bins=10, momentum=0.7,
                           loss_weight=10.0).to(device)

    g = torch.Generator().manual_seed(2)
    roi_pred = torch.randn(ROIS, CLASSES + 1, generator=g).to(device)
    roi_pred.requires_grad_()
    roi_labels = torch.randint(0, 4 * (CLASSES + 1), (ROIS,), generator=g)
    roi_labels = roi_labels.clamp(max=CLASSES).to(device)
    softmax_focal = FocalLoss(use_sigmoid=False, gamma=2.0,
                              alpha=0.25).to(device)

    cls_setting = f'{ANCHORS}x{CLASSES} fwd+bwd'
    row_weights = label_weights[:, None]
    return [
        Case(name='sigmoid Focal',
             setting=f'{cls_setting}, gamma 2, alpha 0.25',
             ours=_step(focal, pred, labels, label_weights,
                        avg_factor=avg_factor),
             reference=_step(mmdet_focal, pred, labels, label_weights,
                             avg_factor=avg_factor),
             plain=bce, plain_name='BCE-with-logits',
             targets={'max_vs_plain': 1.5, 'min_speedup': 2.0}),
        Case(name='GHM-C',
             setting=f'{cls_setting}, bins 30, momentum 0.75',
             ours=_step(ghmc, pred, labels, label_weights),
             reference=_step(mmdet_ghmc, pred, labels, label_weights),
             plain=bce, plain_name='BCE-with-logits',
             targets={'max_vs_plain': 3.0, 'min_speedup': 10.0}),
        Case(name='GHM-R',
             setting=f'{BOXES}x4 fwd+bwd, mu 0.02, bins 10, momentum 0.7',
             ours=_step(ghmr, reg_pred, reg_target, reg_weights),
             reference=_step(mmdet_ghmr, reg_pred, reg_target, reg_weights),
             plain=_step(F.smooth_l1_loss, reg_pred, reg_target,
                         beta=1.0 / 9.0),
             plain_name='smooth L1',
             targets={'min_speedup': 5.0}),
        Case(name='softmax Focal (no mmdet)',
             setting=f'{ROIS}x{CLASSES + 1} fwd+bwd, gamma 2, alpha 0.25',
             ours=_step(softmax_focal, roi_pred, roi_labels),
             plain=_step(F.cross_entropy, roi_pred, roi_labels),
             plain_name='cross-entropy'),
        Case(name='label check (sigmoid Focal)',
             setting=f'{cls_setting}, checked vs unchecked',
             ours=_step(focal_loss, pred, labels, label_weights, gamma=2.0,
                        alpha=0.25, avg_factor=avg_factor, compiled=True),
             plain=_step(_focal_loss, pred, labels, row_weights, 2.0, 0.25,
                         True, 'mean', avg_factor, False, True),
             plain_name='Focal without checks',
             targets={'max_vs_plain': 1.05}),
    ]
