"""What every PISA head shares: its settings, its logged weights, its inputs.

A PISA head (RetinaNet, RoI, SSD) reads ISR-P and CARL from its
``train_cfg`` as mmdet's PISA configs write them; a part left out (or None)
is switched off::

    train_cfg=dict(..., isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))

:func:`pisa_cfg` reads both parts once, with the defaults of
:data:`PISA_DEFAULTS`, and refuses unknown keys and out-of-range values by
name. The head keeps the weights of its last training step in the attribute
:data:`PISA_WEIGHTS_ATTRIBUTE` (a dict keyed by :data:`PISA_WEIGHT_KINDS`),
where :class:`~imbalance_plugin.hooks.GradientDensityHook` reads them.
"""
import torch

from imbalance_plugin.functional.pisa import check_power_map

#: Each part's map ``(bias + (1 - bias) * u) ** k`` by default: the paper's
#: and mmdet's ``isr_p`` / ``carl_loss`` values.
PISA_DEFAULTS = dict(isr=dict(k=2., bias=0.), carl=dict(k=1., bias=0.2))

#: Attribute in which a head exposes the PISA weights of its last step.
PISA_WEIGHTS_ATTRIBUTE = 'last_pisa_weights'
#: Keys of that attribute's dict: ISR-P, ISR-N and CARL weights.
PISA_WEIGHT_KINDS = ('isr_p', 'isr_n', 'carl')


def pisa_cfg(train_cfg, owner):
    """``train_cfg.isr`` and ``train_cfg.carl``, validated, defaults filled.

    Args:
        train_cfg (dict or None): the head's training settings.
        owner (str): name for the error messages (the head's class).

    Returns:
        dict: ``{'isr': dict(k=..., bias=...) or None, 'carl': ... or
        None}``.

    Raises:
        ValueError: naming ``train_cfg.<part>.<key>`` for a key other than
            ``k`` and ``bias``, for ``k < 0`` or ``bias`` outside [0, 1).
    """
    parts = {}
    for part, defaults in PISA_DEFAULTS.items():
        cfg = train_cfg.get(part, None) if train_cfg else None
        if cfg is None:
            parts[part] = None
            continue
        unknown = sorted(set(cfg) - set(defaults))
        if unknown:
            raise ValueError(
                f'{owner}: unknown key(s) '
                f'{", ".join(f"train_cfg.{part}.{key}" for key in unknown)}; '
                f'train_cfg.{part} accepts {" and ".join(defaults)}')
        parts[part] = {**defaults, **cfg}
        check_power_map(parts[part]['k'], parts[part]['bias'],
                        f'train_cfg.{part}')
    return parts


def check_pisa_cfg(train_cfg, owner):
    """Validates ``train_cfg.isr`` and ``train_cfg.carl`` at build time
    (:func:`pisa_cfg`) and returns what it read."""
    return pisa_cfg(train_cfg, owner)


def pisa_part(train_cfg, part):
    """``dict(k=..., bias=...)`` of ``part`` ('isr' or 'carl'), or None."""
    return pisa_cfg(train_cfg, 'train_cfg')[part]


def weights_where(mask, weights):
    """``weights`` where ``mask`` holds, NaN elsewhere, detached.

    The form in which a head keeps its last ISR-P, ISR-N and CARL weights in
    :data:`PISA_WEIGHTS_ATTRIBUTE`: NaN marks the elements a part does not
    weight, so no data-dependent indexing (and no host sync) is needed.
    """
    return torch.where(mask, weights, float('nan')).detach()


def class_probability(cls_score, labels, use_sigmoid):
    """Probability of each row's ``labels`` class: (n, C'), (n,) -> (n,)."""
    probs = cls_score.sigmoid() if use_sigmoid else cls_score.softmax(-1)
    return probs.gather(1, labels[:, None]).squeeze(1)


def gt_groups_of(sampling_results):
    """(p,) batch-unique ground-truth id of each positive, image after image
    (the ground truths of image ``i`` offset by those of the images before
    it)."""
    groups, offset = [], 0
    for result in sampling_results:
        groups.append(result.pos_assigned_gt_inds + offset)
        offset += result.num_gts
    return torch.cat(groups)
