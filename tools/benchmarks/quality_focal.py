"""Quality Focal Loss against mmdet 3.3.0's and against plain BCE.

Each side runs one forward and backward (``torch.autograd.grad``) on inputs
made beforehand, shaped like one GFL batch: 50,000 locations x 80 classes,
float32 logits drawn around the prior bias of a dense head (N(-4.6, 1)),
about 1% of the locations positive with a quality (IoU) target uniform in
[0, 1], label weights with about 5% ignored locations, avg_factor the number
of positives; beta 2 as GFL's config.

* ``(labels, scores)`` targets: the form GFL, TOOD and RTMDet heads call.
* soft targets of the logits' shape: the same targets as a dense tensor
  (mmdet's ``quality_focal_loss_tensor_target``).

plain = ``binary_cross_entropy_with_logits`` (mean) against the same dense
soft targets: the loss QFL modulates. Ours runs its compiled kernel (the
default); the "1st call" column is the compilation (or the on-disk cache
lookup when a previous process compiled the same kernel).
"""
import torch
import torch.nn.functional as F
from mmdet.models.losses import QualityFocalLoss as MMDetQualityFocalLoss

from benchmarks import Case
from imbalance_plugin.losses import QualityFocalLoss

LOCATIONS, CLASSES = 50_000, 80


def _step(loss_fn, pred, *args, **kwargs):
    def run():
        loss = loss_fn(pred, *args, **kwargs)
        return torch.autograd.grad(loss, pred)
    return run


def _inputs(device):
    g = torch.Generator().manual_seed(0)
    pred = (torch.randn(LOCATIONS, CLASSES, generator=g) - 4.6).to(device)
    labels = torch.randint(0, 100 * CLASSES, (LOCATIONS,), generator=g)
    labels = labels.clamp(max=CLASSES)
    scores = torch.rand(LOCATIONS, generator=g)
    label_weights = (torch.rand(LOCATIONS, generator=g) > 0.05).float()
    dense = F.one_hot(labels, CLASSES + 1)[:, :CLASSES] * scores[:, None]
    avg_factor = float((labels < CLASSES).sum())
    return (pred.requires_grad_(), labels.to(device), scores.to(device),
            label_weights.to(device), dense.float().to(device), avg_factor)


def cases(device):
    pred, labels, scores, label_weights, dense, avg_factor = _inputs(device)
    ours = QualityFocalLoss(beta=2.0).to(device)
    reference = MMDetQualityFocalLoss(beta=2.0)
    bce = _step(F.binary_cross_entropy_with_logits, pred, dense)
    setting = f'{LOCATIONS}x{CLASSES} fwd+bwd, beta 2'
    targets = {'max_vs_plain': 1.5, 'min_speedup': 2.0}
    return [
        Case(name='QFL (labels, scores)',
             setting=setting,
             ours=_step(ours, pred, (labels, scores), label_weights,
                        avg_factor=avg_factor),
             reference=_step(reference, pred, (labels, scores),
                             label_weights, avg_factor=avg_factor),
             plain=bce, plain_name='BCE-with-logits', targets=targets),
        Case(name='QFL soft-target tensor',
             setting=setting,
             ours=_step(ours, pred, dense, label_weights,
                        avg_factor=avg_factor),
             reference=_step(reference, pred, dense, label_weights,
                             avg_factor=avg_factor),
             plain=bce, plain_name='BCE-with-logits', targets=targets),
    ]
