r"""Training-time gradient-density statistics of GHM and PISA.

Turned on with one line in a config::

    custom_hooks = [dict(type='imbalance_plugin.GradientDensityHook',
                         interval=50)]

Every ``interval`` training iterations it puts into the runner's message
hub, so that the text log, the JSON log (``vis_data/scalars.json``) and any
visualiser backend (TensorBoard, W&B) receive them:

* for every GHM loss module (:class:`~imbalance_plugin.losses.GHMC`,
  :class:`~imbalance_plugin.losses.GHMR`) found in the model, at module path
  ``path`` (``loss`` removed from it, see :func:`log_tag`), per region
  :math:`k`: ``ghm/<path>/density_<k>``, the moving-average count
  :math:`S_k` (the ``acc_sum`` buffer), and ``ghm/<path>/weight_<k>``, the
  harmonising weight :math:`\beta_k = \sum_j S_j / (n S_k)` that density
  gives (:math:`n` regions with :math:`S_k > 0`; 0 for empty regions): the
  loss's weight of an example of region :math:`k` in a batch whose counts
  equal the moving average. The whole vectors also go to
  ``message_hub.update_info`` under ``ghm/<path>/density`` and
  ``ghm/<path>/weight``.
* for every module that exposes the PISA weights of its last training step
  in the attribute named by
  :data:`~imbalance_plugin.heads.pisa_common.PISA_WEIGHTS_ATTRIBUTE`
  (``last_pisa_weights``: a dict with any of the keys ``'isr_p'``,
  ``'isr_n'``, ``'carl'``, each a tensor of weights, NaN marking elements
  that are not weights of that kind), ``pisa/<path>/<key>_mean``, ``_min``
  and ``_max``.

Values are read once per logging iteration, in one transfer; between
logging iterations the hook does nothing. A model without GHM modules or
PISA weights logs nothing. Keys carry no ``loss``, so MMEngine's log
processor reports their latest value rather than a window mean; choose
``interval`` as a multiple of the logger's interval to see each value once.
"""
import re
from typing import Dict, List, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from ..functional.gradient_density import harmonizing_weights
from ..heads.pisa_common import PISA_WEIGHT_KINDS, PISA_WEIGHTS_ATTRIBUTE
from ..losses.ghm_loss import GHMC, GHMR
from ..registry import HOOKS
from ..utils.settings import check_int

PISA_STATISTICS = ('mean', 'min', 'max')


def log_tag(path: str) -> str:
    """Module path as it appears in the keys: ``loss`` (and a following
    ``_``) removed, since MMEngine averages keys containing ``loss``;
    ``'model'`` for the model itself. ``bbox_head.loss_cls`` ->
    ``bbox_head.cls``."""
    tag = re.sub('loss_?', '', path).strip('.')
    return tag or 'model'


def ghm_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """(path, module) of every GHM-C / GHM-R loss in ``model``."""
    return [(path, module) for path, module in model.named_modules()
            if isinstance(module, (GHMC, GHMR))]


def pisa_weight_modules(model: nn.Module) -> List[Tuple[str, Dict]]:
    """(path, weights dict) of every module exposing PISA weights."""
    found = []
    for path, module in model.named_modules():
        weights = getattr(module, PISA_WEIGHTS_ATTRIBUTE, None)
        if isinstance(weights, dict):
            parts = {
                part: weights[part]
                for part in PISA_WEIGHT_KINDS
                if isinstance(weights.get(part), Tensor)
            }
            if parts:
                found.append((path, parts))
    return found


def density_and_weight(acc_sum: Tensor) -> Tuple[Tensor, Tensor]:
    """``(S, beta)``: the moving-average density and the per-region weight
    :math:`\\sum_j S_j / (n S_k)` it gives (0 where :math:`S_k = 0`)."""
    density = acc_sum.detach().float()
    table, _, _ = harmonizing_weights(density, density, 0.0)
    return density, table[:-1]


def weight_summary(weights: Tensor) -> Tensor:
    """``[count, mean, min, max]`` of the non-NaN elements of ``weights``
    (mean, min and max meaningless when count is 0)."""
    values = weights.detach().float().reshape(-1)
    valid = ~torch.isnan(values)
    count = valid.sum().float()
    mean = torch.where(valid, values, 0.0).sum() / count.clamp_min(1)
    low = torch.where(valid, values, float('inf')).amin() if \
        values.numel() else values.new_zeros(())
    high = torch.where(valid, values, float('-inf')).amax() if \
        values.numel() else values.new_zeros(())
    return torch.stack([count, mean, low, high])


@HOOKS.register_module()
class GradientDensityHook(Hook):
    """Logs GHM's gradient densities and weights and PISA's weight
    statistics every ``interval`` training iterations (see the module).

    Args:
        interval: training iterations between two logs, >= 1.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 50):
        self.interval = check_int(interval, 'GradientDensityHook.interval',
                                  low=1)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.log_statistics(model, runner.message_hub)

    def log_statistics(self, model: nn.Module, message_hub) -> Dict:
        """Puts the statistics of ``model`` into ``message_hub``; returns
        the scalars it logged (key -> float)."""
        names, pieces, vectors = [], [], []
        for path, module in ghm_modules(model):
            prefix = f'ghm/{log_tag(path)}'
            density, weight = density_and_weight(module.acc_sum)
            for kind, values in (('density', density), ('weight', weight)):
                vectors.append(
                    (f'{prefix}/{kind}', len(names), values.numel()))
                names += [f'{prefix}/{kind}_{k:02d}'
                          for k in range(values.numel())]
                pieces.append(values)
        summaries = []
        for path, parts in pisa_weight_modules(model):
            for part, weights in parts.items():
                summaries.append((f'pisa/{log_tag(path)}/{part}', len(names)))
                names += [None] * 4
                pieces.append(weight_summary(weights).to(
                    pieces[0].device if pieces else weights.device))
        if not pieces:
            return {}
        values = torch.cat([p.to(pieces[0].device) for p in pieces]).tolist()

        scalars = {
            name: value
            for name, value in zip(names, values) if name is not None
        }
        for prefix, start in summaries:
            count, *stats = values[start:start + 4]
            if count > 0:
                scalars.update({
                    f'{prefix}_{stat}': value
                    for stat, value in zip(PISA_STATISTICS, stats)
                })
        for name, value in scalars.items():
            message_hub.update_scalar(f'train/{name}', value, resumed=False)
        for key, start, length in vectors:
            message_hub.update_info(key, values[start:start + length],
                                    resumed=False)
        return scalars
